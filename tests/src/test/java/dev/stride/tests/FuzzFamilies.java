package dev.stride.tests;

import java.util.List;
import java.util.function.Function;

/** Every fuzzed family of the public API, in turn by id, so that any run covers them all evenly. */
final class FuzzFamilies {
    private FuzzFamilies() {}

    record Family(String name, Function<FuzzCase.Gen, FuzzCase> generator) {}

    static final List<Family> ALL = List.of(
            new Family("convolution", FuzzConv::convolution),
            new Family("pooling", FuzzConv::pooling),
            new Family("batchnorm", FuzzApi::batchNorm),
            new Family("layernorm", FuzzApi::layerNorm),
            new Family("innerproduct", FuzzApi::innerProduct),
            new Family("eltwise", FuzzApi::eltwise),
            new Family("softmax", FuzzApi::softmax),
            new Family("binary", FuzzTensorOps::binary),
            new Family("concat", FuzzTensorOps::concat),
            new Family("sum", FuzzTensorOps::sum),
            new Family("reduction", FuzzTensorOps::reduction),
            new Family("matmul", FuzzTensorOps::matmul),
            new Family("reorder", FuzzTensorOps::reorder),
            new Family("layouts", FuzzTensorOps::layouts),
            new Family("tensor", FuzzTensorOps::tensors),
            new Family("deformconv", FuzzCustom::deformConv),
            new Family("stn", FuzzCustom::spatialTransformer),
            new Family("se", FuzzCustom::squeezeExcitation),
            new Family("network", FuzzCustom::network));

    /** The configuration {@code id} of the run seeded {@code seed}: a pure function of both. */
    static FuzzCase generate(long seed, long id) {
        Family f = ALL.get((int) Math.floorMod(id, (long) ALL.size()));
        return f.generator().apply(new FuzzCase.Gen(seed, id, f.name()));
    }
}
