// Throughput of one training step (forward, backward, SGD update) at batch 256 for the three
// standard workloads, through the public API:
//   S: 2-2-1, M: 32-256-1, D: 64-256-256-1.
// Reports samples per second and GFLOP/s, counting 2 flops per multiply-add of the three
// products (W A, W^T dZ, dZ A^T) of every layer.
#include <benchmark/benchmark.h>

#include <cmath>
#include <cstdint>
#include <vector>

#include "bmlp/bmlp.h"

namespace {

constexpr size_t kBatch = 256;

struct Workload {
    size_t inputs;
    std::vector<size_t> hidden;
};

const Workload kWorkloads[] = {
    {2, {2}},
    {32, {256}},
    {64, {256, 256}},
};

// Multiply-adds of one sample's forward pass: the number of weights.
double weights_per_sample(const bmlp_net_t *net)
{
    double total = 0.0;
    for (size_t l = 0; l < bmlp_net_num_layers(net); l++)
        total += double(bmlp_net_width(net, l)) * double(bmlp_net_width(net, l + 1));
    return total;
}

void BM_TrainStep(benchmark::State &state)
{
    const Workload &w = kWorkloads[state.range(0)];
    bmlp_net_t *net = nullptr;
    bmlp_workspace_t *ws = nullptr;
    bmlp_error_t err;

    if (bmlp_net_create(w.inputs, w.hidden.data(), w.hidden.size(), &net, &err) != BMLP_OK ||
        bmlp_workspace_create(net, kBatch, BMLP_ISA_AUTO, &ws, &err) != BMLP_OK) {
        state.SkipWithError(err.message);
        return;
    }
    bmlp_net_init_glorot(net, 1);
    std::vector<float> x(kBatch * w.inputs), y(kBatch);
    for (size_t i = 0; i < x.size(); i++)
        x[i] = float(std::sin(0.37 * double(i)));
    for (size_t s = 0; s < kBatch; s++)
        y[s] = float(s % 2);

    double loss = 0.0;
    for (auto _ : state) {
        bmlp_forward(net, ws, x.data(), kBatch, nullptr, &err);
        bmlp_backward(net, ws, y.data(), kBatch, &loss, &err);
        bmlp_sgd_step(net, 0.01f);
        benchmark::DoNotOptimize(loss);
    }
    const double samples = double(state.iterations()) * double(kBatch);
    state.counters["samples_per_second"] = benchmark::Counter(samples, benchmark::Counter::kIsRate);
    // Forward, backward to inputs and weight gradient: three products of 2 flops per weight.
    state.counters["GFLOPS"] = benchmark::Counter(samples * 6.0 * weights_per_sample(net) * 1e-9,
                                                  benchmark::Counter::kIsRate);
    state.SetLabel(bmlp_isa_name(bmlp_workspace_isa(ws)));
    bmlp_workspace_free(ws);
    bmlp_net_free(net);
}

BENCHMARK(BM_TrainStep)->ArgName("workload")->DenseRange(0, 2)->Unit(benchmark::kMicrosecond);

} // namespace

BENCHMARK_MAIN();
