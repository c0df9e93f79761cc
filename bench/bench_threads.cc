// Whether more threads ever train slower than one, for small and large networks at batch sizes
// from 1 to 1024. Each iteration trains 2 epochs on one thread and then 2 epochs with every
// core requested, on the same synthetic blobs. With every core requested, the library runs
// fewer threads where a batch is too small to split. Counters, from the median of 9
// iterations:
//   speed_over_one_thread  one thread's epoch seconds over the other run's; below 1 means more
//                          threads were slower
//   threads                threads that the library ran with every core requested
#include <benchmark/benchmark.h>

#include <algorithm>
#include <string>
#include <thread>
#include <vector>

#include "bmlp/bmlp.h"

namespace {

struct Config {
    size_t inputs;
    std::vector<size_t> hidden;
    size_t batch;
    size_t samples;
};

const Config kConfigs[] = {
    {2, {2}, 1, 100000},       {2, {2}, 16, 400000},        {2, {2}, 256, 1048576},
    {2, {2}, 1024, 1048576},   {4, {4}, 64, 400000},        {8, {8}, 32, 200000},
    {8, {8}, 128, 400000},     {16, {64}, 32, 100000},      {32, {16}, 64, 100000},
    {32, {16}, 256, 100000},   {32, {256}, 16, 32768},      {32, {256}, 64, 65536},
    {64, {256, 256}, 8, 8192}, {64, {256, 256}, 64, 32768},
};

int add_epoch_seconds(const bmlp_epoch_report_t *report, void *user)
{
    *static_cast<double *>(user) += report->seconds;
    return 0;
}

// Trains a fresh network for 2 epochs and returns the seconds of its epochs, or a negative
// value on failure. threads 0 requests every core. Sets *threads_run, unless it is null, to
// the threads that the library ran.
double train_seconds(const Config &config, const bmlp_dataset_t &ds, size_t threads, bool shuffle,
                     size_t *threads_run)
{
    bmlp_net_t *net = nullptr;
    bmlp_error_t err;
    bmlp_train_options_t opt;
    bmlp_train_result_t result{};
    double seconds = 0.0;

    if (bmlp_net_create(config.inputs, config.hidden.data(), config.hidden.size(), &net, &err) !=
        BMLP_OK)
        return -1.0;
    bmlp_train_options_default(&opt);
    opt.epochs = 2;
    opt.batch_size = config.batch;
    opt.val_split = 0.0;
    opt.standardize = 0;
    opt.shuffle = shuffle ? 1 : 0;
    opt.threads = threads;
    opt.on_epoch = add_epoch_seconds;
    opt.user = &seconds;
    bmlp_status_t status = bmlp_train(net, &ds, &opt, &result, &err);
    bmlp_net_free(net);
    if (threads_run != nullptr)
        *threads_run = result.threads;
    return status == BMLP_OK ? seconds : -1.0;
}

void BM_MoreThreads(benchmark::State &state)
{
    const Config &config = kConfigs[state.range(0)];
    const bool shuffle = state.range(1) != 0;
    bmlp_synth_options_t synth = {BMLP_SYNTH_BLOBS, config.samples, config.inputs, 0.5, 1, 0, 0.0};
    bmlp_dataset_t ds;
    bmlp_error_t err;
    std::vector<double> ratios;
    size_t threads_run = 1;

    if (bmlp_synth_generate(&synth, &ds, &err) != BMLP_OK) {
        state.SkipWithError(err.message);
        return;
    }
    for (auto _ : state) {
        const double single = train_seconds(config, ds, 1, shuffle, nullptr);
        const double more = train_seconds(config, ds, 0, shuffle, &threads_run);
        if (single <= 0.0 || more <= 0.0) {
            state.SkipWithError("training failed");
            break;
        }
        state.SetIterationTime(single + more);
        ratios.push_back(single / more);
    }
    bmlp_dataset_free(&ds);
    if (ratios.empty())
        return;
    std::sort(ratios.begin(), ratios.end());
    state.counters["speed_over_one_thread"] = ratios[ratios.size() / 2];
    state.counters["threads"] = double(threads_run);
    std::string layers = std::to_string(config.inputs);
    for (size_t width : config.hidden)
        layers += "-" + std::to_string(width);
    state.SetLabel(layers + "-1, batch " + std::to_string(config.batch) +
                   (shuffle ? ", shuffled" : ", stored order") + ", " +
                   std::to_string(std::thread::hardware_concurrency()) + " cores");
}

void all_configs(benchmark::internal::Benchmark *b)
{
    b->ArgNames({"config", "shuffle"});
    for (long c = 0; c < long(sizeof(kConfigs) / sizeof(kConfigs[0])); c++)
        for (long shuffle = 0; shuffle < 2; shuffle++)
            b->Args({c, shuffle});
}

BENCHMARK(BM_MoreThreads)->Apply(all_configs)->UseManualTime()->Iterations(9);

} // namespace

BENCHMARK_MAIN();
