// One training epoch of the standard workloads at batch 256, per instruction set, five times.
// The median epoch is reported as samples per second and as a fraction of this machine's bound.
// The bound (bmlp_step_bound) counts the step's multiply-adds at the measured peak plus its
// sigmoids at the measured rate. The rates are measured before the first epoch and after each
// one. Each epoch is set against the higher of the two measurements around it, so a machine
// whose speed drifts during the run does not inflate the fraction.
//   S: 2-2-1 on 1,048,576 samples   M: 32-256-1 on 262,144   D: 64-256-256-1 on 131,072
#include <benchmark/benchmark.h>

#include <sys/mman.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <random>
#include <thread>
#include <vector>

#include "bmlp/bmlp.h"

namespace {

struct Workload {
    const char *name;
    size_t inputs;
    std::vector<size_t> hidden;
    size_t samples;
};

const Workload kWorkloads[] = {
    {"S", 2, {2}, 1048576},
    {"M", 32, {256}, 262144},
    {"D", 64, {256, 256}, 131072},
};

const bmlp_isa_t kIsas[] = {BMLP_ISA_SCALAR, BMLP_ISA_AVX2, BMLP_ISA_AVX512};

// Synthetic blobs of the workload's width, made once per workload.
const bmlp_dataset_t &dataset_for(size_t w)
{
    static std::map<size_t, bmlp_dataset_t> cache;
    auto it = cache.find(w);
    if (it != cache.end())
        return it->second;
    bmlp_synth_options_t opt = {BMLP_SYNTH_BLOBS, kWorkloads[w].samples, kWorkloads[w].inputs,
                                1.0, 1, 0, 0.0};
    bmlp_dataset_t ds;
    bmlp_error_t err;
    if (bmlp_synth_generate(&opt, &ds, &err) != BMLP_OK)
        ds = bmlp_dataset_t{0, 0, nullptr, nullptr};
    return cache.emplace(w, ds).first->second;
}

// Measures the rates of isa on this thread after a pause of 20 ms, in which the OpenMP threads
// of an earlier parallel region stop spinning and leave the cores idle.
bool measure_rates(bmlp_isa_t isa, bmlp_machine_rates_t *rates)
{
    bmlp_error_t err;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    return bmlp_measure_rates(isa, rates, &err) == BMLP_OK;
}

// Returns the higher of each rate of a and b, which bound a run between the two measurements.
bmlp_machine_rates_t higher_rates(const bmlp_machine_rates_t &a, const bmlp_machine_rates_t &b)
{
    bmlp_machine_rates_t r = a;
    r.flops_per_second = std::max(a.flops_per_second, b.flops_per_second);
    r.sigmoids_per_second = std::max(a.sigmoids_per_second, b.sigmoids_per_second);
    return r;
}

double median(std::vector<double> v)
{
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

int record_epoch(const bmlp_epoch_report_t *report, void *user)
{
    *static_cast<double *>(user) = report->seconds;
    return 0;
}

void BM_Epoch(benchmark::State &state)
{
    const size_t w = size_t(state.range(0));
    const bmlp_isa_t isa = kIsas[state.range(1)];
    // The third argument, where given, is 0 to visit the samples in stored order.
    const bool shuffle = state.range(2) != 0;
    const Workload &load = kWorkloads[w];
    const bmlp_dataset_t &ds = dataset_for(w);
    bmlp_machine_rates_t before;
    bmlp_net_t *net = nullptr;
    bmlp_error_t err;

    if (!measure_rates(isa, &before)) {
        state.SkipWithError("instruction set not available on this CPU");
        return;
    }
    if (ds.x == nullptr ||
        bmlp_net_create(load.inputs, load.hidden.data(), load.hidden.size(), &net, &err) !=
            BMLP_OK) {
        state.SkipWithError("cannot allocate the workload");
        return;
    }
    bmlp_train_options_t opt;
    bmlp_train_options_default(&opt);
    opt.epochs = 1;
    opt.batch_size = 256;
    opt.learning_rate = 0.01f;
    opt.val_split = 0.0;
    opt.standardize = 0;
    opt.isa = isa;
    opt.shuffle = shuffle ? 1 : 0;
    // The bound is that of one core, so the epoch runs on one thread.
    opt.threads = 1;
    double seconds = 0.0;
    std::vector<double> epochs, bounds, fractions, peaks, sigmoid_rates;
    opt.on_epoch = record_epoch;
    opt.user = &seconds;

    for (auto _ : state) {
        bmlp_train_result_t result;
        bmlp_machine_rates_t after;
        if (bmlp_train(net, &ds, &opt, &result, &err) != BMLP_OK) {
            state.SkipWithError(err.message);
            break;
        }
        // Only the training steps count: not the checks and set-up before the first epoch, nor
        // the measurement of the rates.
        state.SetIterationTime(seconds);
        if (!measure_rates(isa, &after)) {
            state.SkipWithError("measuring the rates failed");
            break;
        }
        const bmlp_machine_rates_t around = higher_rates(before, after);
        const double bound = bmlp_step_bound(net, &around);
        epochs.push_back(seconds);
        bounds.push_back(bound);
        fractions.push_back(double(load.samples) / seconds / bound);
        peaks.push_back(after.flops_per_second);
        sigmoid_rates.push_back(after.sigmoids_per_second);
        before = after;
    }
    if (epochs.empty()) {
        bmlp_net_free(net);
        return;
    }
    // Medians, so that one epoch slowed by another process does not set the figure.
    state.counters["samples_per_second"] = double(load.samples) / median(epochs);
    state.counters["bound_samples_per_second"] = median(bounds);
    state.counters["bound_fraction"] = median(fractions);
    state.counters["peak_GFLOPS"] = median(peaks) * 1e-9;
    state.counters["sigmoids_per_ns"] = median(sigmoid_rates) * 1e-9;
    state.SetLabel(std::string(load.name) + " " + bmlp_isa_name(isa) +
                   (shuffle ? "" : " in stored order"));
    bmlp_net_free(net);
}

BENCHMARK(BM_Epoch)
    ->ArgNames({"workload", "isa", "shuffle"})
    ->ArgsProduct({{0, 1, 2}, {0, 1, 2}, {1}})
    ->UseManualTime()
    ->Iterations(5)
    ->Unit(benchmark::kMillisecond);

// S without shuffling reads its samples as one stream instead of one cache miss each: the
// difference to the shuffled run is the cost of random access to the dataset.
BENCHMARK(BM_Epoch)
    ->ArgNames({"workload", "isa", "shuffle"})
    ->ArgsProduct({{0}, {1, 2}, {0}})
    ->UseManualTime()
    ->Iterations(5)
    ->Unit(benchmark::kMillisecond);

// The rows of S (two features and the label, 12 bytes) in a shuffled order, only read: a
// ceiling for shuffled training of S on this machine. The table sits on huge pages, as the
// training's copy does, and the order is a precomputed random permutation, so the loop costs
// one random row read per sample and nothing else. Each row is prefetched 64 rows ahead, the
// fastest of the distances from 0 to 256 tried on the 2-core VM, and the sums go to 8
// accumulators so that no chain of adds sets the pace. rows_per_second is the median of 5
// passes. bound_fraction_ceiling is the fraction of S's bound (widest instruction set, rates
// measured before and after) at which a step that only read its row would run.
void BM_ShuffledRowReads(benchmark::State &state)
{
    constexpr size_t kRows = 1048576, kFloats = 3, kAhead = 64, kSums = 8;
    const size_t bytes = kRows * kFloats * sizeof(float);
    const size_t huge = size_t(1) << 21;
    float *table = static_cast<float *>(std::aligned_alloc(huge, (bytes + huge - 1) / huge * huge));
    const size_t hidden[] = {2};
    bmlp_machine_rates_t before, after;
    bmlp_net_t *net = nullptr;
    bmlp_error_t err;

    if (table == nullptr || !measure_rates(BMLP_ISA_AUTO, &before) ||
        bmlp_net_create(2, hidden, 1, &net, &err) != BMLP_OK) {
        state.SkipWithError("allocating the table or measuring the rates failed");
        std::free(table);
        return;
    }
    madvise(table, bytes, MADV_HUGEPAGE);
    for (size_t i = 0; i < kRows * kFloats; i++)
        table[i] = float(i % 1000) * 0.001f;
    std::vector<uint32_t> order(kRows);
    for (size_t i = 0; i < kRows; i++)
        order[i] = uint32_t(i);
    std::mt19937_64 generator(1);
    std::shuffle(order.begin(), order.end(), generator);

    std::vector<double> passes;
    float sums[kSums] = {0.0f};
    for (auto _ : state) {
        const auto start = std::chrono::steady_clock::now();
        for (size_t i = 0; i < kRows; i++) {
            if (i + kAhead < kRows)
                __builtin_prefetch(table + size_t(order[i + kAhead]) * kFloats);
            const float *row = table + size_t(order[i]) * kFloats;
            sums[i % kSums] += row[0] + row[1] + row[2];
        }
        const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start;
        state.SetIterationTime(elapsed.count());
        passes.push_back(elapsed.count());
    }
    benchmark::DoNotOptimize(sums);
    if (!passes.empty() && measure_rates(BMLP_ISA_AUTO, &after)) {
        const bmlp_machine_rates_t around = higher_rates(before, after);
        const double seconds = median(passes);
        state.counters["rows_per_second"] = double(kRows) / seconds;
        state.counters["ns_per_row"] = seconds / double(kRows) * 1e9;
        state.counters["bound_fraction_ceiling"] =
            double(kRows) / seconds / bmlp_step_bound(net, &around);
        state.SetLabel(std::string("S rows in shuffled order, read only; bound of ") +
                       bmlp_isa_name(around.isa));
    }
    bmlp_net_free(net);
    std::free(table);
}

BENCHMARK(BM_ShuffledRowReads)->UseManualTime()->Iterations(5)->Unit(benchmark::kMillisecond);

} // namespace

BENCHMARK_MAIN();
