# Stride: the commands a newcomer runs. `make run` (the main job) and `make test` (what CI runs).
SHELL := /bin/bash
.DEFAULT_GOAL := run

JDK := $(shell scripts/find-jdk)
ifeq ($(JDK),)
$(error No JDK >= 25 found: JAVA_HOME is '$(JAVA_HOME)' and /usr/lib/jvm has none. Install Temurin 25 (package temurin-25-jdk) or another JDK 25+, or point JAVA_HOME at one)
endif
export JAVA_HOME := $(JDK)
export PATH := $(JDK)/bin:$(PATH)

MVN ?= mvn -B --no-transfer-progress
# The Vector API module gives the custom ops' Java loops SIMD (dev.stride.ops.FloatLoops); it is optional.
JAVA := $(JDK)/bin/java --enable-native-access=ALL-UNNAMED --add-modules=jdk.incubator.vector
# The command line, with its JVM flags (the train heap among them): the one way to run it, here and by hand.
STRIDE := bin/stride
FASHION_MNIST := /usr/share/datasets/fashion-mnist
APT_GET := $(shell command -v sudo >/dev/null 2>&1 && [ "$$(id -u)" != 0 ] && echo sudo) apt-get

.PHONY: run build test bench bindings check-bindings info clean deps-libclang deps-data deps-old-dnnl

## build: compile and package every module (no tests; the sources and javadoc jars are left to `make test`)
build:
	$(MVN) -DskipTests -Dmaven.javadoc.skip=true -Dmaven.source.skip=true package

## run: the main job: train the TensorFlow reference convnet on real Fashion-MNIST (ARGS adds train options)
run: deps-data build
	$(STRIDE) train --data $(FASHION_MNIST) $(ARGS)

## info: what oneDNN is loaded, from where, with which ISA and threads
info: build
	$(STRIDE) info

## test: everything CI runs (unit, cross-module, generator fixture, bindings drift check, README examples;
## builds the sources and javadoc jars too)
test: deps-libclang deps-data deps-old-dnnl
	$(MVN) verify

## bench: JMH benchmarks and their C twins, printed as Java/C ratios
bench: build
	scripts/bench

## bindings: regenerate the oneDNN bindings from the headers in the carrier jar
bindings: deps-libclang
	$(MVN) -DskipTests -pl native,bindings/generator -am package
	$(JAVA) -cp bindings/generator/target/classes dev.stride.bindings.generator.Main \
	    --headers native/target/dnnl/org/bytedeco/dnnl/linux-x86_64/include \
	    --config bindings/dnnl-bindings.conf --out bindings/src/main/java
	$(JAVA) -cp bindings/generator/target/classes dev.stride.bindings.generator.Main \
	    --headers bindings/include --config bindings/omp-bindings.conf --out bindings/src/main/java
	$(JAVA) -cp bindings/generator/target/classes dev.stride.bindings.generator.Main \
	    --headers bindings/include --config bindings/clock-bindings.conf --out bindings/src/main/java

clean:
	$(MVN) clean

deps-libclang:
	@if ! ls /usr/lib/llvm-14/lib/libclang.so.1 /usr/lib/x86_64-linux-gnu/libclang-14.so.1 >/dev/null 2>&1 \
	   || [ ! -d /usr/lib/llvm-14/lib/clang ]; then \
	  echo "installing libclang1-14 and libclang-common-14-dev (the bindings generator parses oneDNN's headers with them)"; \
	  $(APT_GET) update -qq && DEBIAN_FRONTEND=noninteractive $(APT_GET) install -y -qq libclang1-14 libclang-common-14-dev; \
	fi

deps-data:
	@if [ ! -f $(FASHION_MNIST)/t10k-images-idx3-ubyte.gz ]; then \
	  echo "installing dataset-fashion-mnist (real Fashion-MNIST, into $(FASHION_MNIST))"; \
	  $(APT_GET) update -qq && DEBIAN_FRONTEND=noninteractive $(APT_GET) install -y -qq dataset-fashion-mnist; \
	fi

# Debian's oneDNN 2.6: the loader test checks that a wrong-version override is refused with its path and version.
deps-old-dnnl:
	@if [ ! -f /usr/lib/x86_64-linux-gnu/libdnnl.so.2 ]; then \
	  echo "installing libdnnl2 (oneDNN 2.6; a test checks that Stride refuses it as an override)"; \
	  $(APT_GET) update -qq && DEBIAN_FRONTEND=noninteractive $(APT_GET) install -y -qq --no-install-recommends libdnnl2; \
	fi
