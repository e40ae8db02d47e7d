// cpp_embed: libreco from C++ — the C header as it is, handles owned by std::unique_ptr.
//
// <reco/reco.h> is a C header that carries its own `extern "C"` guards, so C++ includes it
// directly. Each handle type gets a unique_ptr whose deleter is the matching reco_*_free()
// (which accepts NULL), a failed call throws with reco_error_message(), and the rest is
// plain C API: create or open a model, score candidates for a user's state through a
// per-thread workspace, rank them. The state is everything a model may take (a version-2
// reco_batch): the recent history, the user features, the position in the session, the
// seconds since it began and the long-term history; item features live in the model. Run
// with --help for the options.
#include <reco/reco.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <cstddef>
#include <memory>
#include <stdexcept>
#include <string>
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

// One user's state, as a service knows it. Interactions are oldest first; a model reads only
// the inputs it takes (reco_model_options version 2) and ignores the others.
struct State {
    std::vector<int32_t> history;          // recent interactions (across sessions)
    std::vector<uint32_t> feedback;        // their feedback bits (bit f = signal f)
    std::vector<float> user_features;      // user_dim values
    uint32_t steps = 0;                    // steps already taken in this session
    float elapsed = 0.0f;                  // seconds since the session began
    std::vector<int32_t> long_items;       // interactions before this session
    std::vector<uint32_t> long_feedback;
};

// The last `n` of (items, bits) in a window of exactly n slots, newest last, padded in front.
void window(std::vector<int32_t> &items, std::vector<uint32_t> &bits, size_t n)
{
    if (items.size() > n) {
        items.erase(items.begin(), items.end() - static_cast<std::ptrdiff_t>(n));
        bits.erase(bits.begin(), bits.end() - static_cast<std::ptrdiff_t>(n));
    }
    items.insert(items.begin(), n - items.size(), RECO_PAD);
    bits.insert(bits.begin(), n - bits.size(), 0u);
}

// Scores `candidates` for one state under `head` and ranks them. `batch_version` 1 makes the
// reco_batch of 0.1 (no session context), for the demonstration of its error.
std::vector<Ranked> rank(const reco_model *m, reco_workspace *ws, uint32_t head, State st,
                         const std::vector<int32_t> &candidates,
                         unsigned batch_version = RECO_BATCH_VERSION)
{
    reco_model_options o = RECO_MODEL_OPTIONS_INIT;
    check(reco_model_get_options(&o, m), "reco_model_get_options");
    if (st.feedback.size() != st.history.size() ||
        st.long_feedback.size() != st.long_items.size())
        throw std::invalid_argument("State: one feedback value per interaction");
    if (o.user_dim > 0 && st.user_features.size() != o.user_dim)
        throw std::invalid_argument("State: the model takes " + std::to_string(o.user_dim) +
                                    " user features");
    window(st.history, st.feedback, o.lookback);
    window(st.long_items, st.long_feedback, o.long_len);

    reco_batch b = RECO_BATCH_INIT;  // version 2: the session context
    b.version = batch_version;
    b.size = 1;
    b.items = st.history.data();
    b.feedback = st.feedback.data();
    b.user_features = o.user_dim > 0 ? st.user_features.data() : nullptr;
    b.n_candidates = static_cast<uint32_t>(candidates.size());
    b.candidates = candidates.data();
    b.shared_candidates = 1;
    b.steps = &st.steps;        // read when the model has `position`
    b.elapsed = &st.elapsed;    // read when it has `elapsed`
    b.long_items = o.long_len > 0 ? st.long_items.data() : nullptr;  // (long_len)
    b.long_feedback = o.long_len > 0 ? st.long_feedback.data() : nullptr;
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
        "    reco_qnet_save(), e.g. by serve-qnet --save [--context]), scores ten candidates\n"
        "    for a user's state with the Q head through a workspace, and prints them ranked;\n"
        "    then shows that a bad call (a candidate outside the catalog) becomes an\n"
        "    exception. Then a model that takes every input (user features, position and\n"
        "    elapsed time in the session, a long-term history, item features) ranks the\n"
        "    same candidates for one user at two moments of a session, through a version-2\n"
        "    reco_batch; a version-1 batch, which has no session context, throws.\n"
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

        State st;
        st.history = {12, 7, 40, 3};
        st.feedback = {3u, 0u, 1u, 0u};  // bit 0 click, 1 long watch
        // The session context: read only by a model that takes it (a checkpoint of
        // serve-qnet --save --context does; the fresh model here does not).
        reco_model_options mo = RECO_MODEL_OPTIONS_INIT;
        check(reco_model_get_options(&mo, model), "reco_model_get_options");
        st.user_features.assign(mo.user_dim, 0.0f);
        st.steps = 2;         // the last two of the history are this session's
        st.elapsed = 35.0f;
        st.long_items = {88, 5, 12, 640};
        st.long_feedback = {1u, 0u, 3u, 0u};
        const std::vector<int32_t> candidates = {5, 9, 13, 200, 321, 77, 640, 2, 999, 58};
        std::printf("libreco %s, %s, Q head %u\n", reco_version_string(),
                    checkpoint ? checkpoint : "fresh model", head);
        for (const Ranked &r : rank(model, ws.get(), head, st, candidates))
            std::printf("  item %4d  Q %+.5f\n", r.item, static_cast<double>(r.score));

        try {
            rank(model, ws.get(), head, st, {5, 1000000});
            std::fprintf(stderr, "cpp-embed: an out-of-catalog candidate was accepted\n");
            return 1;
        } catch (const Error &e) {
            std::printf("a bad request throws: %s [%s]\n", e.what(), reco_status_name(e.code));
        }

        // A model with every input of reco_model_options version 2. Item features are data
        // stored in the model (and in its checkpoints): set once, not passed per request.
        reco_model_options co = RECO_MODEL_OPTIONS_INIT;
        co.n_items = 1000;
        co.dim = 16;
        co.ffn_dim = 32;
        co.init_std = 0.1f;
        co.max_batch = 1;
        co.max_candidates = 64;
        co.user_dim = 4;            // e.g. a segment one-hot and an activity level
        co.position = 1;            // steps into the session
        co.elapsed = 1;             // seconds into the session
        co.long_len = 8;            // the last 8 interactions before the session
        co.item_dense_dim = 2;      // e.g. quality and log popularity
        co.item_n_fields = 1;       // e.g. the topic,
        co.item_field_sizes[0] = 10;  // of 10 values
        Model ctx = create_model(co);
        std::vector<float> dense(2 * co.n_items);
        std::vector<int32_t> topic(co.n_items);
        for (uint32_t i = 0; i < co.n_items; i++) {
            dense[2 * i] = static_cast<float>(i % 100) / 100.0f;
            dense[2 * i + 1] = static_cast<float>(i % 7) - 3.0f;
            topic[i] = static_cast<int32_t>(i % 10);
        }
        check(reco_model_set_item_features(ctx.get(), dense.data(), topic.data(), co.n_items),
              "reco_model_set_item_features");
        Workspace cws = create_workspace(ctx.get());
        const uint32_t ctx_head = reco_model_n_heads(ctx.get()) - 1;
        State early = st;
        early.user_features = {0.0f, 1.0f, 0.0f, 0.7f};
        early.steps = 0;  // the session's first step: the whole history is from before it
        early.elapsed = 0.0f;
        State later = early;
        later.steps = 3;  // three steps and two minutes later (the same window, for the demo)
        later.elapsed = 120.0f;
        const std::vector<Ranked> r0 = rank(ctx.get(), cws.get(), ctx_head, early, candidates);
        const std::vector<Ranked> r1 = rank(ctx.get(), cws.get(), ctx_head, later, candidates);
        std::printf("model with every input (user features, steps, elapsed, long history of "
                    "%u, item features):\n", co.long_len);
        for (size_t i = 0; i < 3; i++)
            std::printf("  step 0, 0 s: item %4d  Q %+.5f   step 3, 120 s: item %4d  Q %+.5f\n",
                        r0[i].item, static_cast<double>(r0[i].score), r1[i].item,
                        static_cast<double>(r1[i].score));
        bool moved = false;
        for (const Ranked &a : r0)
            for (const Ranked &b : r1)
                moved = moved || (a.item == b.item && a.score != b.score);
        if (!moved) {
            std::fprintf(stderr, "cpp-embed: the session context did not change a score\n");
            return 1;
        }
        try {
            rank(ctx.get(), cws.get(), ctx_head, later, candidates, 1);
            std::fprintf(stderr, "cpp-embed: a version-1 batch was accepted\n");
            return 1;
        } catch (const Error &e) {
            std::printf("a version-1 batch throws: %s [%s]\n", e.what(),
                        reco_status_name(e.code));
        }
    } catch (const Error &e) {
        std::fprintf(stderr, "cpp-embed: %s\n", e.what());
        return 1;
    } catch (const std::invalid_argument &e) {
        std::fprintf(stderr, "cpp-embed: %s\n", e.what());
        return 1;
    }
    return 0;  // every handle was freed by its unique_ptr, in reverse order of creation
}
