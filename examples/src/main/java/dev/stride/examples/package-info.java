/**
 * The code in README.md, as programs the build compiles and {@code make test} runs. Each snippet lies between
 * a {@code // @start region=NAME} and a {@code // @end} line; {@code ReadmeSnippetsTest} checks that README.md
 * shows every region verbatim (indentation removed) and no Java block that is not one.
 */
package dev.stride.examples;
