// Teacher data generation against training, on the same threads, for workload S: 2-2-1 on
// 1,048,576 samples at batch 256. Each iteration first generates S's synth:teacher samples
// (2 features, 16 hidden units, feature noise 0.1 as in the CLI's default, or none) with
// bmlp_synth_fill, with the range split evenly over the threads. Then it trains one epoch of S
// on them from memory, as bench_epoch trains. A third measurement trains one epoch from
// bmlp_source_synthetic, which generates each batch's samples inside the training step.
// Counters, from the median of the iterations:
//   gen_over_train       training seconds over generation seconds: how many times faster
//                        generation runs than the training it feeds
//   stream_over_memory   the streamed epoch's seconds over the in-memory epoch's
#include <benchmark/benchmark.h>

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "bmlp/bmlp.h"

namespace {

constexpr size_t kSamples = 1048576;
constexpr size_t kFeatures = 2;
constexpr size_t kHidden = 2;
constexpr size_t kBatch = 256;

bmlp_synth_options_t teacher_options(double noise)
{
    bmlp_synth_options_t opt = {BMLP_SYNTH_TEACHER, kSamples, kFeatures, noise, 1, 0, 0.0};
    return opt;
}

// Generates every sample of S with the given feature noise into ds on threads threads, each
// filling one contiguous range. Returns the wall time in seconds, or a negative value when a
// fill fails.
double generate(size_t threads, double noise, bmlp_dataset_t *ds)
{
    const bmlp_synth_options_t opt = teacher_options(noise);
    std::vector<std::thread> workers;
    std::vector<int> failed(threads, 0);
    const auto start = std::chrono::steady_clock::now();

    for (size_t t = 0; t < threads; t++) {
        const size_t first = kSamples * t / threads, last = kSamples * (t + 1) / threads;
        workers.emplace_back([&, t, first, last] {
            bmlp_error_t err;
            failed[t] = bmlp_synth_fill(&opt, first, last - first, ds->x + first * kFeatures,
                                        ds->y + first, &err) != BMLP_OK;
        });
    }
    for (auto &w : workers)
        w.join();
    const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start;
    for (int f : failed) {
        if (f)
            return -1.0;
    }
    return elapsed.count();
}

int record_epoch(const bmlp_epoch_report_t *report, void *user)
{
    *static_cast<double *>(user) = report->seconds;
    return 0;
}

// Options of one epoch of S at batch 256 on exactly threads threads, as bench_epoch trains it.
bmlp_train_options_t epoch_options(size_t threads, double *seconds)
{
    bmlp_train_options_t opt;
    bmlp_train_options_default(&opt);
    opt.epochs = 1;
    opt.batch_size = kBatch;
    opt.learning_rate = 0.01f;
    opt.val_split = 0.0;
    opt.standardize = 0;
    opt.threads = threads;
    opt.exact_threads = 1;
    opt.on_epoch = record_epoch;
    opt.user = seconds;
    return opt;
}

double median(std::vector<double> v)
{
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

void BM_TeacherVsEpoch(benchmark::State &state)
{
    const size_t threads = size_t(state.range(0));
    const double noise = double(state.range(1)) / 10.0;
    const size_t hidden[] = {kHidden};
    const bmlp_synth_options_t synth = teacher_options(noise);
    bmlp_dataset_t ds = {0, 0, nullptr, nullptr};
    bmlp_source_t *stream = nullptr;
    bmlp_net_t *net = nullptr;
    bmlp_error_t err;

    if (bmlp_dataset_alloc(&ds, kSamples, kFeatures, &err) != BMLP_OK ||
        bmlp_source_synthetic(&synth, &stream, &err) != BMLP_OK ||
        bmlp_net_create(kFeatures, hidden, 1, &net, &err) != BMLP_OK) {
        state.SkipWithError(err.message);
        bmlp_source_free(stream);
        bmlp_dataset_free(&ds);
        return;
    }
    // An untimed fill first, so that no iteration pays for the dataset's first page faults.
    if (generate(threads, noise, &ds) < 0.0) {
        state.SkipWithError("bmlp_synth_fill failed");
        bmlp_net_free(net);
        bmlp_source_free(stream);
        bmlp_dataset_free(&ds);
        return;
    }
    std::vector<double> gen_seconds, train_seconds, stream_seconds;
    bmlp_isa_t isa = BMLP_ISA_AUTO;

    for (auto _ : state) {
        // After a parallel region, libgomp's threads spin for 300,000 iterations (the default
        // of GOMP_SPINCOUNT) before they sleep. The pause keeps them from competing with the
        // generating threads.
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        const double gen = generate(threads, noise, &ds);
        if (gen < 0.0) {
            state.SkipWithError("bmlp_synth_fill failed");
            break;
        }
        double train = 0.0, streamed = 0.0;
        bmlp_train_options_t opt = epoch_options(threads, &train);
        bmlp_train_result_t result;
        if (bmlp_train(net, &ds, &opt, &result, &err) != BMLP_OK) {
            state.SkipWithError(err.message);
            break;
        }
        isa = result.isa;
        opt = epoch_options(threads, &streamed);
        if (bmlp_train_source(net, stream, &opt, &result, &err) != BMLP_OK) {
            state.SkipWithError(err.message);
            break;
        }
        gen_seconds.push_back(gen);
        train_seconds.push_back(train);
        stream_seconds.push_back(streamed);
        state.SetIterationTime(gen + train);
    }
    if (!gen_seconds.empty()) {
        const double gen = median(gen_seconds), train = median(train_seconds);
        const double streamed = median(stream_seconds);
        state.counters["gen_samples_per_second"] = double(kSamples) / gen;
        state.counters["train_samples_per_second"] = double(kSamples) / train;
        state.counters["stream_samples_per_second"] = double(kSamples) / streamed;
        state.counters["gen_over_train"] = train / gen;
        state.counters["stream_over_memory"] = streamed / train;
    }
    state.SetLabel(std::string("S teacher, noise ") + (noise > 0.0 ? "0.1, " : "0, ") +
                   bmlp_isa_name(isa));
    bmlp_net_free(net);
    bmlp_source_free(stream);
    bmlp_dataset_free(&ds);
}

BENCHMARK(BM_TeacherVsEpoch)
    ->ArgNames({"threads", "noise_tenths"})
    ->ArgsProduct({{1, 2}, {1, 0}})
    ->UseManualTime()
    ->Iterations(9)
    ->Unit(benchmark::kMillisecond);

// Epochs of S from an NPY file in the page cache against epochs on the same samples in memory,
// on one thread. Each iteration runs one training run of 3 epochs from memory and then one
// from the file, and compares their last epochs, as the first epoch of a run is the slowest.
// The file is written to the temporary directory (TMPDIR or /tmp) and removed at the end. An
// untimed run first brings it into the page cache. The argument is 1 for shuffled epochs, 0
// for stored order.
//   npy_over_memory      the NPY epoch's seconds over the in-memory epoch's
void BM_NpyVsMemory(benchmark::State &state)
{
    const bool shuffle = state.range(0) != 0;
    const size_t hidden[] = {kHidden};
    const bmlp_synth_options_t synth = teacher_options(0.1);
    const std::string path = (std::filesystem::temp_directory_path() /
                              ("bmlp-bench-" + std::to_string(getpid()) + ".npy"))
                                 .string();
    bmlp_dataset_t ds = {0, 0, nullptr, nullptr};
    bmlp_source_t *npy = nullptr;
    bmlp_net_t *net = nullptr;
    bmlp_error_t err;
    std::vector<double> memory_seconds, npy_seconds;
    double seconds = 0.0;
    bmlp_train_options_t opt = epoch_options(1, &seconds);
    bmlp_train_result_t result;

    opt.epochs = 3;
    opt.shuffle = shuffle ? 1 : 0;
    if (bmlp_dataset_alloc(&ds, kSamples, kFeatures, &err) != BMLP_OK ||
        bmlp_net_create(kFeatures, hidden, 1, &net, &err) != BMLP_OK) {
        state.SkipWithError(err.message);
        bmlp_dataset_free(&ds);
        return;
    }
    if (generate(1, 0.1, &ds) < 0.0) {
        state.SkipWithError("bmlp_synth_fill failed");
    } else if (bmlp_synth_write(&synth, path.c_str(), BMLP_FORMAT_NPY, nullptr, nullptr, &err) !=
                   BMLP_OK ||
               bmlp_source_open_npy(path.c_str(), &npy, &err) != BMLP_OK ||
               bmlp_train_source(net, npy, &opt, &result, &err) != BMLP_OK) {
        state.SkipWithError(err.message);
    } else {
        for (auto _ : state) {
            if (bmlp_train(net, &ds, &opt, &result, &err) != BMLP_OK) {
                state.SkipWithError(err.message);
                break;
            }
            memory_seconds.push_back(seconds);
            if (bmlp_train_source(net, npy, &opt, &result, &err) != BMLP_OK) {
                state.SkipWithError(err.message);
                break;
            }
            npy_seconds.push_back(seconds);
            state.SetIterationTime(memory_seconds.back() + npy_seconds.back());
        }
    }
    if (!npy_seconds.empty()) {
        const double memory = median(memory_seconds), file = median(npy_seconds);
        state.counters["memory_samples_per_second"] = double(kSamples) / memory;
        state.counters["npy_samples_per_second"] = double(kSamples) / file;
        state.counters["npy_over_memory"] = file / memory;
    }
    state.SetLabel(std::string("S teacher, ") + (shuffle ? "shuffled" : "stored order"));
    bmlp_source_free(npy);
    std::remove(path.c_str());
    bmlp_net_free(net);
    bmlp_dataset_free(&ds);
}

BENCHMARK(BM_NpyVsMemory)
    ->ArgNames({"shuffle"})
    ->Arg(1)
    ->Arg(0)
    ->UseManualTime()
    ->Iterations(9)
    ->Unit(benchmark::kMillisecond);

} // namespace

BENCHMARK_MAIN();
