package dev.stride.examples;

import dev.stride.conv.Convolution;
import dev.stride.nn.NetworkBuilder;
import dev.stride.nn.NetworkSpec;

/** README, the network builder: the reference convnet with "same" padding, and its summary table. */
public final class NetworkSummary {

    private NetworkSummary() {}

    /** Prints the summary. */
    public static void main(String[] args) {
        build();
    }

    static NetworkSpec build() {
        // @start region=builder
        NetworkSpec net = NetworkBuilder.input(1, 28, 28)
                .conv(Convolution.Params.of(32, 5).samePadding()).relu().maxPool(2, 2)
                .conv(Convolution.Params.of(64, 5).samePadding()).relu().maxPool(2, 2)
                .flatten().fc(1024).relu().fc(10)
                .build();
        System.out.println(net.summary());
        // @end
        return net;
    }
}
