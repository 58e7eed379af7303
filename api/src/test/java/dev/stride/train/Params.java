package dev.stride.train;

import dev.stride.core.Scope;
import dev.stride.core.Tensor;
import java.util.ArrayList;
import java.util.List;

/** Test helpers: parameters from arrays, gradients in, values out. */
final class Params {
    private Params() {}

    static Parameter of(Scope scope, String name, float[] values, long... dims) {
        return new Parameter(name, Tensor.of(scope, name, values, dims), Tensor.zeros(scope, name + ".grad", dims));
    }

    static Parameter of(Scope scope, String name, double... values) {
        return of(scope, name, toFloat(values), values.length);
    }

    static void grad(Parameter p, double... g) {
        p.grad().copyFrom(toFloat(g));
    }

    static float[] values(Parameter p) {
        return p.value().toFloatArray();
    }

    static float[] toFloat(double[] v) {
        float[] f = new float[v.length];
        for (int i = 0; i < v.length; i++) {
            f[i] = (float) v[i];
        }
        return f;
    }

    /** The f32 rounding of a double array, so references start exactly where the f32 parameters start. */
    static double[] f32(double... v) {
        double[] d = new double[v.length];
        for (int i = 0; i < v.length; i++) {
            d[i] = (float) v[i];
        }
        return d;
    }

    static List<float[]> snapshot(List<Parameter> params) {
        List<float[]> out = new ArrayList<>();
        for (Parameter p : params) {
            out.add(values(p));
        }
        return out;
    }
}
