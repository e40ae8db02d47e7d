// cpp_embed: libreco from C++ — the C header as it is, handles owned by std::unique_ptr.
//
// <reco/reco.h> is a C header that carries its own `extern "C"` guards, so C++ includes it
// directly. Each handle type gets a unique_ptr whose deleter is the matching reco_*_free()
// (which accepts NULL), a failed call throws with reco_error_message(), and the rest is
// plain C API: create or open a model, score candidates for a user's history through a
// per-thread workspace, rank them. Run with --help for the options.
#include <reco/reco.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <vector>

namespace {

// RAII: one owning pointer type per handle, freed by the library's own free function.
template <typename T, void (*Free)(T *)>
struct Deleter {
    void operator()(T *p) const { Free(p); }
};
using Model = std::unique_ptr<reco_model, Deleter<reco_model, reco_model_free>>;
using Workspace = std::unique_ptr<reco_workspace, Deleter<reco_workspace, reco_workspace_free>>;
using QNet = std::unique_ptr<reco_qnet, Deleter<reco_qnet, reco_qnet_free>>;

// The message already names the failing function (e.g. "reco_model_score: ...").
struct Error : std::runtime_error {
    int code;
    Error(const char *what, int c)
        : std::runtime_error(*reco_error_message() ? reco_error_message() : what), code(c) {}
};

void check(int rc, const char *what)
{
    if (rc < 0)
        throw Error(what, rc);
}

Model create_model(const reco_model_options &o)
{
    reco_model *raw = nullptr;
    check(reco_model_create(&raw, &o), "reco_model_create");
    return Model(raw);
}

Workspace create_workspace(const reco_model *m)
{
    reco_workspace *raw = nullptr;
    check(reco_workspace_create(&raw, m), "reco_workspace_create");
    return Workspace(raw);
}

struct Ranked {
    int32_t item;
    float score;
};

// Scores `candidates` for one user history (oldest first) under `head` and ranks them.
std::vector<Ranked> rank(const reco_model *m, reco_workspace *ws, uint32_t head,
                         std::vector<int32_t> history, std::vector<uint32_t> feedback,
                         const std::vector<int32_t> &candidates)
{
    reco_model_options o = RECO_MODEL_OPTIONS_INIT;
    check(reco_model_get_options(&o, m), "reco_model_get_options");
    // The model reads a window of exactly L interactions, newest last, padded in front.
    if (history.size() > o.lookback) {
        history.erase(history.begin(), history.end() - o.lookback);
        feedback.erase(feedback.begin(), feedback.end() - o.lookback);
    }
    history.insert(history.begin(), o.lookback - history.size(), RECO_PAD);
    feedback.insert(feedback.begin(), o.lookback - feedback.size(), 0u);

    reco_batch b = RECO_BATCH_INIT;
    b.size = 1;
    b.items = history.data();
    b.feedback = feedback.data();
    b.n_candidates = static_cast<uint32_t>(candidates.size());
    b.candidates = candidates.data();
    b.shared_candidates = 1;
    std::vector<float> scores(candidates.size());
    check(reco_model_score(scores.data(), m, ws, &b, &head, 1), "reco_model_score");

    std::vector<Ranked> out;
    for (size_t i = 0; i < candidates.size(); i++)
        out.push_back(Ranked{candidates[i], scores[i]});
    std::stable_sort(out.begin(), out.end(),
                     [](const Ranked &x, const Ranked &y) { return x.score > y.score; });
    return out;
}

void usage(std::FILE *f)
{
    std::fprintf(f,
        "NAME\n"
        "    cpp-embed - score candidates with libreco from C++ (RAII over the C API)\n"
        "\n"
        "SYNOPSIS\n"
        "    cpp-embed [--checkpoint FILE] [--help]\n"
        "\n"
        "DESCRIPTION\n"
        "    Includes <reco/reco.h> as it is (the header has its own extern \"C\" guards) and\n"
        "    owns every handle with a std::unique_ptr whose deleter is the matching\n"
        "    reco_*_free(); a failed call throws with reco_error_message(). It creates a\n"
        "    small model with fresh parameters (or opens a Q-network checkpoint written by\n"
        "    reco_qnet_save(), e.g. by serve-qnet --save), scores ten candidates for a short\n"
        "    user history with the Q head through a workspace, and prints them ranked; then\n"
        "    shows that a bad call (a candidate outside the catalog) becomes an exception.\n"
        "\n"
        "OPTIONS\n"
        "    --checkpoint FILE   Q-network checkpoint to score with\n"
        "    --help, -h          this text\n"
        "\n"
        "EXIT STATUS\n"
        "    0 on success, 1 on a library error, 2 on a bad command line.\n");
}

}  // namespace

int main(int argc, char **argv)
{
    const char *checkpoint = nullptr;
    for (int i = 1; i < argc; i++) {
        if (std::strcmp(argv[i], "--help") == 0 || std::strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return 0;
        } else if (std::strcmp(argv[i], "--checkpoint") == 0 && i + 1 < argc) {
            checkpoint = argv[++i];
        } else {
            std::fprintf(stderr, "cpp-embed: unknown or incomplete argument '%s' (see --help)\n",
                         argv[i]);
            return 2;
        }
    }
    try {
        QNet qnet;
        Model own;
        const reco_model *model = nullptr;
        uint32_t head = 0;
        if (checkpoint) {
            reco_qnet *raw = nullptr;
            check(reco_qnet_open(&raw, checkpoint, nullptr), "reco_qnet_open");
            qnet.reset(raw);
            model = reco_qnet_online(qnet.get());  // borrowed: lives as long as qnet
            head = reco_qnet_q_head(qnet.get());
        } else {
            reco_model_options o = RECO_MODEL_OPTIONS_INIT;
            o.n_items = 1000;
            o.dim = 16;
            o.ffn_dim = 32;
            o.max_batch = 1;
            o.max_candidates = 64;
            own = create_model(o);
            model = own.get();
            head = reco_model_n_heads(model) - 1;
        }
        Workspace ws = create_workspace(model);  // one per scoring thread

        const std::vector<int32_t> history = {12, 7, 40, 3};
        const std::vector<uint32_t> feedback = {3u, 0u, 1u, 0u};  // bit 0 click, 1 long watch
        const std::vector<int32_t> candidates = {5, 9, 13, 200, 321, 77, 640, 2, 999, 58};
        std::printf("libreco %s, %s, Q head %u\n", reco_version_string(),
                    checkpoint ? checkpoint : "fresh model", head);
        for (const Ranked &r : rank(model, ws.get(), head, history, feedback, candidates))
            std::printf("  item %4d  Q %+.5f\n", r.item, static_cast<double>(r.score));

        try {
            rank(model, ws.get(), head, history, feedback, {5, 1000000});
            std::fprintf(stderr, "cpp-embed: an out-of-catalog candidate was accepted\n");
            return 1;
        } catch (const Error &e) {
            std::printf("a bad request throws: %s [%s]\n", e.what(), reco_status_name(e.code));
        }
    } catch (const Error &e) {
        std::fprintf(stderr, "cpp-embed: %s\n", e.what());
        return 1;
    }
    return 0;  // every handle was freed by its unique_ptr, in reverse order of creation
}
