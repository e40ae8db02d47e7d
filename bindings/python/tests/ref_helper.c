/* ref_helper: what the Python binding's tests compare against, from C.
 *
 *   ref_helper layout        JSON: size and field offsets of every struct the binding mirrors
 *   ref_helper versions      JSON: the current version (the header's *_VERSION macro) of every
 *                            mirrored struct that has a version member
 *   ref_helper score CKPT    JSON: scores (every head) and the Q head's top 10 of a fixed batch
 *                            (the formula is repeated in tests/test_model.py) under the model
 *                            checkpoint CKPT, computed by the C API directly
 *
 * Generated once from libreco/_ffi.py's struct list, then kept by hand: a struct added to the
 * binding is added here too (tests/test_layout.py fails on one that is missing). */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RECO_LAB_API /* the binding mirrors the structs of both tiers (docs/abi.md) */
#include <reco/reco.h>

static int first_struct = 1;
static int first_field;

static void begin(const char *name, size_t size)
{
    printf("%s\n  \"%s\": {\"size\": %zu, \"offsets\": {", first_struct ? "{" : ",", name, size);
    first_struct = 0;
    first_field = 1;
}

static void field(const char *name, size_t off)
{
    printf("%s\"%s\": %zu", first_field ? "" : ", ", name, off);
    first_field = 0;
}

#define F(m) field(#m, offsetof(T, m));
#define S(type, name, ...)                                                                     \
    do {                                                                                       \
        typedef type T;                                                                        \
        begin(name, sizeof(T));                                                                \
        __VA_ARGS__                                                                            \
        printf("}}");                                                                          \
    } while (0);

static int layout(void)
{
    S(reco_error_info, "ErrorInfo", F(version) F(code) F(message) F(source) F(line) F(column)
      F(field))
    S(reco_rng, "Rng", F(s))
    S(reco_model_options, "ModelOptions", F(version) F(allocator) F(n_items) F(dim) F(lookback)
      F(n_blocks) F(n_heads) F(ffn_dim) F(n_signals) F(user_dim) F(seed) F(init_std) F(max_batch)
      F(max_candidates) F(threads) F(lr) F(beta1) F(beta2) F(adam_eps) F(weight_decay)
      F(clip_norm) F(position) F(elapsed) F(long_len) F(item_dense_dim) F(item_n_fields)
      F(item_field_sizes) F(state_bias) F(deterministic))
    S(reco_batch, "Batch", F(version) F(size) F(items) F(feedback) F(user_features) F(n_candidates)
      F(candidates) F(shared_candidates) F(steps) F(elapsed) F(long_items) F(long_feedback))
    S(reco_env, "Env", F(version) F(n_items) F(n_signals) F(lookback) F(user_dim) F(max_sessions)
      F(reset) F(observe) F(candidates) F(step) F(payload) F(save_state) F(load_state)
      F(long_len) F(context) F(probabilities) F(signal_names) F(reward_weights)
      F(max_candidates) F(max_steps))
    S(reco_world_options, "WorldOptions", F(version) F(allocator) F(seed) F(n_users) F(n_items)
      F(n_topics) F(lookback) F(history_len) F(n_candidates) F(max_session_len) F(max_sessions)
      F(topic_zipf) F(quality_alpha) F(quality_beta) F(clickbait_alpha) F(clickbait_beta)
      F(popularity_sigma) F(popularity_quality) F(popularity_clickbait) F(popular_candidate_share)
      F(interest_concentration) F(history_interest_share) F(satisfaction_mean) F(satisfaction_sd)
      F(light_share) F(heavy_share) F(exit_light) F(exit_regular) F(exit_heavy) F(click_bias)
      F(click_interest) F(click_clickbait) F(click_fatigue) F(click_repeat) F(watch_bias)
      F(watch_quality) F(watch_interest) F(watch_clickbait) F(watch_fatigue) F(like_bias)
      F(like_quality) F(like_interest) F(like_clickbait) F(hide_bias) F(hide_interest)
      F(hide_clickbait) F(hide_fatigue) F(satisfaction_decay) F(satisfaction_watch_quality)
      F(satisfaction_watch_clickbait) F(satisfaction_like) F(satisfaction_bounce)
      F(satisfaction_bounce_clickbait) F(satisfaction_hide) F(satisfaction_skip) F(fatigue_decay)
      F(exit_satisfaction) F(exit_fatigue) F(reward_click) F(reward_long_watch) F(reward_like)
      F(reward_hide) F(exclude_seen) F(carry_history) F(long_len) F(user_features)
      F(user_feature_noise) F(item_feature_noise) F(seconds_base) F(seconds_click)
      F(seconds_long_watch) F(seconds_like))
    S(reco_world_slot_info, "WorldSlotInfo", F(version) F(key) F(steps) F(status) F(exited)
      F(segment) F(satisfaction) F(max_fatigue))
    S(reco_experiment_options, "ExperimentOptions", F(version) F(name) F(seed) F(threads)
      F(time_limit_s) F(deterministic) F(verbosity) F(output_dir) F(n_formats) F(formats)
      F(n_seeds) F(seeds) F(logging_policy) F(logging_popularity_power)
      F(logging_bootstrap_interactions) F(logging_interactions) F(logging_interactions_per_user)
      F(logging_temperature) F(eval_sessions) F(eval_deep_depth) F(eval_confidence))
    S(reco_config_options, "ConfigOptions", F(version) F(allocator))
    S(reco_config_origin, "ConfigOrigin", F(version) F(kind) F(source) F(line) F(column))
    S(reco_log_options, "LogOptions", F(version) F(allocator) F(n_signals) F(signal_names)
      F(user_dim) F(user_feature_names) F(propensity) F(oracle) F(max_candidates))
    S(reco_log_load_options, "LogLoadOptions", F(version) F(lenient) F(n_items) F(max_rejections))
    S(reco_log_row, "LogRow", F(version) F(user) F(session) F(step) F(timestamp) F(item)
      F(feedback) F(exit) F(user_features) F(propensity) F(oracle) F(n_candidates)
      F(candidates))
    S(reco_log_columns, "LogColumns", F(version) F(n_rows) F(users) F(sessions) F(steps)
      F(timestamps) F(items) F(feedback) F(exits) F(propensity) F(user_features) F(oracle)
      F(max_candidates) F(candidate_counts) F(candidates))
    S(reco_items_options, "ItemsOptions", F(version) F(allocator) F(n_items) F(n_dense)
      F(dense_names) F(n_fields) F(field_names) F(field_sizes))
    S(reco_items_load_options, "ItemsLoadOptions", F(version) F(lenient) F(max_rejections))
    S(reco_log_policy, "LogPolicy", F(version) F(kind) F(item_weights) F(n_item_weights) F(model)
      F(signal_weights) F(temperature))
    S(reco_log_generate_options, "LogGenerateOptions", F(version) F(n_sessions) F(n_interactions)
      F(users) F(n_users) F(first_user) F(max_candidates) F(max_steps) F(parallel) F(seed)
      F(start_time) F(session_interval) F(step_interval) F(session_key) F(session_key_payload))
    S(reco_fit_metrics, "FitMetrics", F(log_loss) F(auc) F(ece) F(mean_prediction))
    S(reco_fit_epoch, "FitEpoch", F(version) F(epoch) F(n_outputs) F(n_examples) F(train_loss)
      F(valid_loss) F(improved) F(seconds) F(model))
    S(reco_fit_options, "FitOptions", F(version) F(epochs) F(batch_size) F(lr) F(patience)
      F(min_delta) F(seed) F(checkpoint) F(max_examples_per_epoch) F(popularity_prior) F(progress)
      F(payload))
    S(reco_fit_report, "FitReport", F(version) F(n_outputs) F(epochs_run) F(best_epoch)
      F(stopped_early) F(cancelled) F(n_train) F(n_valid) F(best_valid_loss) F(train_rate)
      F(valid_rate) F(model) F(global_rate) F(popularity) F(history_cap) F(train_loss)
      F(valid_loss) F(has_oracle) F(oracle) F(n_gaps) F(step_seconds_base) F(step_seconds)
      F(exit_tilt))
    S(reco_sim_options, "SimOptions", F(version) F(allocator) F(seed) F(max_sessions)
      F(max_session_len) F(n_candidates) F(reward) F(parent) F(parent_value) F(exclude_seen)
      F(expected_reward) F(item_penalty) F(seconds_base) F(seconds)
      F(candidate_weights) F(candidate_weight_share) F(exit_tilt) F(imitate) F(ensemble)
      F(ensemble_size) F(pessimism))
    S(reco_qnet_options, "QNetOptions", F(version) F(allocator) F(model) F(gamma) F(huber_delta)
      F(target_period) F(tau) F(priority_eps) F(max_abs_q) F(max_loss) F(keep_last_good)
      F(conservative_alpha))
    S(reco_qnet_batch, "QNetBatch", F(version) F(size) F(state_items) F(state_feedback) F(actions)
      F(rewards) F(next_items) F(next_feedback) F(done) F(weights) F(state_user_features)
      F(next_user_features) F(n_candidates) F(candidates) F(shared_candidates) F(state_steps)
      F(next_steps) F(state_elapsed) F(next_elapsed) F(long_items) F(long_feedback))
    S(reco_qnet_update_info, "QNetUpdateInfo", F(version) F(loss) F(mean_q) F(mean_target)
      F(mean_abs_td) F(max_abs_q) F(grad_norm) F(n_updates) F(target_synced))
    S(reco_replay_options, "ReplayOptions", F(version) F(allocator) F(capacity) F(record_capacity)
      F(lookback) F(kind) F(seed) F(alpha) F(beta0) F(beta_final) F(beta_steps) F(priority_eps)
      F(initial_priority) F(context) F(user_dim) F(long_len) F(segment_capacity))
    S(reco_replay_segment, "ReplaySegment", F(version) F(history_len) F(history_items)
      F(history_feedback) F(n_steps) F(items) F(feedback) F(rewards) F(ends_session) F(priorities)
      F(first_step) F(elapsed) F(user_dim) F(user_features) F(long_len) F(long_items)
      F(long_feedback))
    S(reco_replay_batch, "ReplayBatch", F(version) F(indices) F(state_items) F(state_feedback)
      F(actions) F(rewards) F(next_items) F(next_feedback) F(done) F(weights) F(probabilities)
      F(user_features) F(state_steps) F(next_steps) F(state_elapsed) F(next_elapsed)
      F(long_items) F(long_feedback))
    S(reco_replay_stats, "ReplayStats", F(version) F(size) F(capacity) F(records)
      F(record_capacity) F(oldest_index) F(next_index) F(sample_step) F(beta) F(alpha)
      F(total_priority) F(max_priority) F(bytes) F(bytes_per_transition) F(segments)
      F(segment_capacity))
    S(reco_explorer_schedule, "ExplorerSchedule", F(kind) F(start) F(end) F(steps) F(rate))
    S(reco_explorer_options, "ExplorerOptions", F(version) F(allocator) F(rule) F(epsilon) F(tau)
      F(top_k_fraction) F(top_k_count) F(seed) F(stream) F(max_candidates))
    S(reco_trainer_metrics, "TrainerMetrics", F(version) F(updates) F(transitions) F(sessions)
      F(loss) F(mean_q) F(mean_abs_td) F(sim_return) F(policy_lag) F(transitions_per_s)
      F(updates_per_s) F(elapsed_s))
    S(reco_trainer_options, "TrainerOptions", F(version) F(allocator) F(n_generators)
      F(sessions_per_generator) F(segment_len) F(replay_ratio) F(warmup) F(batch_size)
      F(n_candidates) F(snapshot_period) F(max_staleness) F(total_updates) F(total_transitions)
      F(n_users) F(seed) F(metrics_interval) F(metrics_csv) F(progress) F(progress_payload)
      F(checkpoint_every) F(checkpoint_dir))
    S(reco_trainer_report, "TrainerReport", F(version) F(updates) F(transitions) F(sessions)
      F(max_policy_lag) F(wall_s) F(stopped) F(last))
    S(reco_policy, "Policy", F(version) F(name) F(lookback) F(user_dim) F(choose) F(payload)
      F(choose_states) F(choose_sessions) F(probabilities))
    S(reco_policy_sessions, "PolicySessions", F(version) F(slots) F(users) F(sessions)
      F(propensity_out))
    S(reco_policy_options, "PolicyOptions", F(version) F(allocator) F(kind) F(seed) F(item_weights)
      F(n_item_weights) F(model) F(signal_weights) F(head) F(temperature) F(explorer))
    S(reco_ope_options, "OpeOptions", F(version) F(allocator) F(reward_weights) F(model)
      F(direct) F(direct_payload) F(lookback) F(long_len) F(gamma) F(clip) F(confidence))
    S(reco_ope_value, "OpeValue", F(value) F(se) F(lo) F(hi))
    S(reco_ope_result, "OpeResult", F(version) F(sessions) F(steps) F(logged_step)
      F(logged_return) F(step) F(session) F(ess) F(max_weight) F(clipped))
    S(reco_run_step, "RunStep", F(session) F(step) F(item) F(feedback) F(reward) F(done))
    S(reco_run_stats, "RunStats", F(version) F(n_signals) F(sessions) F(steps) F(exits)
      F(truncated) F(cut) F(count) F(reward))
    S(reco_run_options, "RunOptions", F(version) F(allocator) F(parallel) F(max_candidates)
      F(max_steps) F(on_step) F(on_step_payload))
    S(reco_eval_stat, "EvalStat", F(mean) F(lo) F(hi) F(n))
    S(reco_eval_options, "EvalOptions", F(version) F(allocator) F(parallel) F(max_candidates)
      F(max_steps) F(long_watch_signal) F(hide_signal) F(deep_depth) F(item_topics)
      F(n_item_topics) F(confidence) F(reset_env) F(reset_env_payload) F(progress)
      F(progress_payload) F(user_metric_names) F(n_user_metrics) F(user_metrics)
      F(user_metrics_payload))
    S(reco_audit_stats, "AuditStats", F(sessions) F(steps) F(exits) F(truncated) F(count) F(rate)
      F(mean_depth) F(mean_return))
    S(reco_audit_report, "AuditReport", F(version) F(n_signals) F(n_sessions) F(n_buckets)
      F(n_segments) F(sim) F(real) F(sim_bucket) F(real_bucket) F(bucket_max_popularity)
      F(bucket_items) F(sim_segment) F(real_segment) F(worst_bucket) F(worst_bucket_gap)
      F(worst_segment) F(worst_segment_gap))
    S(reco_audit_options, "AuditOptions", F(version) F(allocator) F(n_buckets) F(item_popularity)
      F(user_segment) F(n_segments) F(parallel) F(max_candidates) F(max_steps))
    S(reco_pipeline_options, "PipelineOptions", F(version) F(candidates) F(lookback)
      F(session_cap) F(n_reward) F(reward) F(eval_users) F(bootstrap) F(heldout_share)
      F(select_snapshot) F(early_stop_patience))
    S(reco_pipeline_env, "PipelineEnv", F(version) F(name) F(open) F(close) F(payload))
    S(reco_pipeline_run_options, "PipelineRunOptions", F(version) F(allocator) F(env) F(log)
      F(items) F(random_init) F(ensemble) F(select_heldout) F(eval_heldout) F(fit_only)
      F(without) F(progress) F(progress_payload))
    S(reco_pipeline_key, "PipelineKey", F(path) F(why) F(refused) F(origin))
    S(reco_pipeline_point, "PipelinePoint", F(updates) F(greedy_q_return) F(baseline_return)
      F(loss) F(mean_q) F(explore_return))
    S(reco_pipeline_fidelity, "PipelineFidelity", F(sim) F(real) F(rel) F(lo) F(hi))
    S(reco_pipeline_log_options, "PipelineLogOptions", F(version) F(interactions)
      F(interactions_per_user) F(first_user) F(candidates) F(session_cap) F(seed)
      F(propensity) F(oracle))
    printf("\n}\n");
    return 0;
}

#define V(name, macro) printf("%s\n  \"%s\": %u", first_struct ? "{" : ",", name, \
                             (unsigned)(macro)), first_struct = 0;

static int versions(void)
{
    V("ErrorInfo", RECO_ERROR_INFO_VERSION)
    V("ModelOptions", RECO_MODEL_OPTIONS_VERSION)
    V("Batch", RECO_BATCH_VERSION)
    V("Env", RECO_ENV_VERSION)
    V("WorldOptions", RECO_WORLD_OPTIONS_VERSION)
    V("WorldSlotInfo", RECO_WORLD_SLOT_INFO_VERSION)
    V("ExperimentOptions", RECO_EXPERIMENT_OPTIONS_VERSION)
    V("ConfigOptions", RECO_CONFIG_OPTIONS_VERSION)
    V("ConfigOrigin", RECO_CONFIG_ORIGIN_VERSION)
    V("LogOptions", RECO_LOG_OPTIONS_VERSION)
    V("LogLoadOptions", RECO_LOG_LOAD_OPTIONS_VERSION)
    V("LogRow", RECO_LOG_ROW_VERSION)
    V("LogColumns", RECO_LOG_COLUMNS_VERSION)
    V("ItemsOptions", RECO_ITEMS_OPTIONS_VERSION)
    V("ItemsLoadOptions", RECO_ITEMS_LOAD_OPTIONS_VERSION)
    V("LogPolicy", RECO_LOG_POLICY_VERSION)
    V("LogGenerateOptions", RECO_LOG_GENERATE_OPTIONS_VERSION)
    V("FitEpoch", RECO_FIT_EPOCH_VERSION)
    V("FitOptions", RECO_FIT_OPTIONS_VERSION)
    V("FitReport", RECO_FIT_REPORT_VERSION)
    V("SimOptions", RECO_SIM_OPTIONS_VERSION)
    V("QNetOptions", RECO_QNET_OPTIONS_VERSION)
    V("QNetBatch", RECO_QNET_BATCH_VERSION)
    V("QNetUpdateInfo", RECO_QNET_UPDATE_INFO_VERSION)
    V("ReplayOptions", RECO_REPLAY_OPTIONS_VERSION)
    V("ReplaySegment", RECO_REPLAY_SEGMENT_VERSION)
    V("ReplayBatch", RECO_REPLAY_BATCH_VERSION)
    V("ReplayStats", RECO_REPLAY_STATS_VERSION)
    V("ExplorerOptions", RECO_EXPLORER_OPTIONS_VERSION)
    V("TrainerMetrics", RECO_TRAINER_METRICS_VERSION)
    V("TrainerOptions", RECO_TRAINER_OPTIONS_VERSION)
    V("TrainerReport", RECO_TRAINER_REPORT_VERSION)
    V("Policy", RECO_POLICY_VERSION)
    V("PolicySessions", RECO_POLICY_SESSIONS_VERSION)
    V("PolicyOptions", RECO_POLICY_OPTIONS_VERSION)
    V("RunStats", RECO_RUN_STATS_VERSION)
    V("RunOptions", RECO_RUN_OPTIONS_VERSION)
    V("EvalOptions", RECO_EVAL_OPTIONS_VERSION)
    V("AuditReport", RECO_AUDIT_REPORT_VERSION)
    V("AuditOptions", RECO_AUDIT_OPTIONS_VERSION)
    V("PipelineOptions", RECO_PIPELINE_OPTIONS_VERSION)
    V("PipelineEnv", RECO_PIPELINE_ENV_VERSION)
    V("PipelineRunOptions", RECO_PIPELINE_RUN_OPTIONS_VERSION)
    V("PipelineLogOptions", RECO_PIPELINE_LOG_OPTIONS_VERSION)
    V("OpeOptions", RECO_OPE_OPTIONS_VERSION)
    V("OpeResult", RECO_OPE_RESULT_VERSION)
    printf("\n}\n");
    return 0;
}

/* The fixed batch of tests/test_model.py: B = 3 states, C = 40 shared candidates. */
static int score(const char *path)
{
    reco_model *m = NULL;
    if (reco_model_open(&m, path, NULL) < 0) {
        fprintf(stderr, "ref_helper: %s\n", reco_error_message());
        return 1;
    }
    reco_model_options o = RECO_MODEL_OPTIONS_INIT;
    reco_model_get_options(&o, m);
    enum { B = 3, C = 40, TOPN = 10 };
    const uint32_t L = o.lookback, N = o.n_items, H = reco_model_n_heads(m);
    int32_t *items = malloc(sizeof(int32_t) * B * L);
    uint32_t *fb = malloc(sizeof(uint32_t) * B * L);
    int32_t cand[C], top_ids[B * TOPN];
    uint32_t heads[64];
    float *scores = malloc(sizeof(float) * B * H * C), top_scores[B * TOPN];
    for (uint32_t b = 0; b < B; b++)
        for (uint32_t t = 0; t < L; t++) {
            items[b * L + t] = t < 2 * b ? RECO_PAD : (int32_t)((b * 31 + t * 7) % N);
            fb[b * L + t] = (b + t) % (1u << o.n_signals);
        }
    for (uint32_t c = 0; c < C; c++)
        cand[c] = (int32_t)((c * 3 + 1) % N);
    for (uint32_t h = 0; h < H; h++)
        heads[h] = h;
    reco_batch batch = RECO_BATCH_INIT;
    batch.size = B;
    batch.items = items;
    batch.feedback = fb;
    batch.n_candidates = C;
    batch.candidates = cand;
    batch.shared_candidates = 1;
    int rc = reco_model_score(scores, m, NULL, &batch, heads, H);
    if (rc == RECO_OK)
        rc = reco_model_topn(top_ids, top_scores, m, NULL, &batch, H - 1, TOPN);
    if (rc < 0) {
        fprintf(stderr, "ref_helper: %s\n", reco_error_message());
    } else {
        printf("{\"scores\": [");
        for (size_t i = 0; i < (size_t)B * H * C; i++)
            printf("%s%.9g", i ? ", " : "", (double)scores[i]);
        printf("],\n \"top_ids\": [");
        for (size_t i = 0; i < (size_t)B * TOPN; i++)
            printf("%s%d", i ? ", " : "", top_ids[i]);
        printf("],\n \"top_scores\": [");
        for (size_t i = 0; i < (size_t)B * TOPN; i++)
            printf("%s%.9g", i ? ", " : "", (double)top_scores[i]);
        printf("]}\n");
    }
    free(items);
    free(fb);
    free(scores);
    reco_model_free(m);
    return rc < 0;
}

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "layout") == 0)
        return layout();
    if (argc == 2 && strcmp(argv[1], "versions") == 0)
        return versions();
    if (argc == 3 && strcmp(argv[1], "score") == 0)
        return score(argv[2]);
    fprintf(stderr, "usage: ref_helper layout | ref_helper versions | ref_helper score "
                    "CHECKPOINT\n");
    return 2;
}
