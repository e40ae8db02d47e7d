/**
 * @file items.h
 * @brief Item table: the dense and categorical features of every item of a catalog, from CSV
 *        or binary files, in the arrays reco_model_set_item_features() takes.
 * @defgroup reco_items Item features
 * @ingroup reco_lab
 *
 * A @ref reco_items holds, for each of the catalog's @c n_items items (ids `0 .. n_items-1`,
 * the ids of the logs and the model), @c n_dense dense features (floats, e.g. a quality
 * score, a duration) and @c n_fields categorical fields (small integers, e.g. a topic, an
 * author), each field with its number of values. The schema is fixed at creation
 * (@ref reco_items_options); the values come from a CSV file, a binary file or
 * reco_items_set().
 *
 * **Unknown items.** An item never given keeps dense features 0 and every field -1
 * ("unknown"), which adds nothing in the model; so a table may describe part of the catalog.
 * reco_items_n_known() counts the items that were given.
 *
 * **CSV.** The first line is the header `item,<dense names>,<field names>` (for the default
 * names: `item,d0,d1,f0`); every further line is one item: its id, its dense values (finite
 * floats such as `0.25`, `-3`, `1.5e-7`) and its field values (integers in `[0, size)`, or
 * empty for unknown). Items may come in any order, each at most once. The grammar (line
 * endings, no quotes, no whitespace, no empty lines) and the error reports are those of the
 * interaction logs (@ref reco_log; `docs/items.md`): every problem names the file, line,
 * column and column name, e.g. `items.csv:7:9: topic: value 20 is out of range [0, 19] (the
 * field has 20 values)`; strict loading fails on the first one, lenient loading rejects bad
 * lines and keeps their details (reco_items_rejection()).
 *
 * **Binary.** reco_items_save() writes a checksummed file (magic `RECOITM1`) of the known
 * items that reco_items_load() reads back exactly, after checking it whole.
 *
 * @code
 * const char *field_names[] = {"topic", "author"};
 * const uint32_t field_sizes[] = {20, 5000};
 * reco_items_options io = RECO_ITEMS_OPTIONS_INIT;
 * io.n_items = 10000;             // the catalog: ids 0 .. 9999
 * io.n_dense = 2;                 // columns d0, d1
 * io.n_fields = 2;
 * io.field_names = field_names;
 * io.field_sizes = field_sizes;
 * reco_items *items = NULL;
 * if (reco_items_create(&items, &io) < 0) {
 *     fprintf(stderr, "%s\n", reco_error_message());
 *     return 1;
 * }
 * if (reco_items_load_csv(items, "items.csv", NULL) < 0) {   // item,d0,d1,topic,author
 *     fprintf(stderr, "%s\n", reco_error_message());          // file:line:column: field: ...
 *     reco_items_free(items);
 *     return 1;
 * }
 * // A model created with item_dense_dim = 2, item_n_fields = 2, item_field_sizes {20, 5000}:
 * reco_model_set_item_features(model, reco_items_dense(items), reco_items_fields(items),
 *                              reco_items_n_items(items));
 * reco_items_save(items, "items.recoitm");
 * reco_items_free(items);
 * @endcode
 *
 * @par Memory
 * `n_items * (4 * n_dense + 4 * n_fields + 1)` bytes from the allocator in the options, plus
 * the names. Loading builds the new table aside (a second copy, and 4 bytes per item to
 * find duplicates) and swaps it in when the whole file is good.
 *
 * @par Thread safety
 * Calls that take a `const reco_items *` (getters, the borrowed arrays, saving) may run
 * concurrently with each other; a call that changes the table (load, set, reset) must not run
 * concurrently with any other call on it.
 *
 * @par API tier
 * **Lab**: may change in any 0.x release; declared only where `RECO_LAB_API` is defined
 * before the first libreco include (@ref abi_tiers "API tiers").
 * @{
 */
#ifndef RECO_ITEMS_H
#define RECO_ITEMS_H
#ifndef RECO_LAB_API
#error "reco/items.h is lab API, may change in any 0.x: define RECO_LAB_API first (docs/abi.md)"
#endif

#include "reco/common.h"
#include "reco/alloc.h"
#include "reco/error.h"
#include "reco/model.h"

RECO_BEGIN_DECLS

/** Most dense features per item. @since 0.2 */
#define RECO_ITEMS_MAX_DENSE 1024
/** Most values of one categorical field (values `0 .. 2^24-1`). @since 0.2 */
#define RECO_ITEMS_MAX_FIELD_SIZE (1u << 24)
/** Longest column name, in bytes. @since 0.2 */
#define RECO_ITEMS_NAME_MAX 63

/**
 * @brief Opaque item table handle.
 * @since 0.2
 */
typedef struct reco_items reco_items;

/** Current version of @ref reco_items_options. @since 0.2 */
#define RECO_ITEMS_OPTIONS_VERSION 1
/** Initialiser for @ref reco_items_options (1000 items, no features). @since 0.2 */
#define RECO_ITEMS_OPTIONS_INIT { RECO_ITEMS_OPTIONS_VERSION, NULL, 1000, 0, NULL, 0, NULL, NULL }

/**
 * @brief Options for reco_items_create(): the schema of the table.
 *
 * A column name is 1..@ref RECO_ITEMS_NAME_MAX bytes of `[A-Za-z0-9_]`, does not start with
 * a digit, and differs from `item` and from every other column.
 * @since 0.2
 */
typedef struct reco_items_options {
    unsigned int version;            /**< @ref RECO_ITEMS_OPTIONS_VERSION. */
    const reco_allocator *allocator; /**< NULL: the process default; copied at creation. */
    /** Catalog size: item ids are `0 .. n_items-1`; 1..2^31-1. Default 1000 (the model's
     *  default). */
    uint32_t n_items;
    /** Dense features per item, 0..@ref RECO_ITEMS_MAX_DENSE. Default 0. */
    uint32_t n_dense;
    /** @c n_dense names (copied), or NULL for `d0`, `d1`, ... */
    const char *const *dense_names;
    /** Categorical fields per item, 0..@ref RECO_MODEL_MAX_ITEM_FIELDS. Default 0. */
    uint32_t n_fields;
    /** @c n_fields names (copied), or NULL for `f0`, `f1`, ... */
    const char *const *field_names;
    /** (n_fields) number of values of each field, 1..@ref RECO_ITEMS_MAX_FIELD_SIZE (copied);
     *  required when @c n_fields > 0. The model's @c item_field_sizes. */
    const uint32_t *field_sizes;
} reco_items_options;

/** Current version of @ref reco_items_load_options. @since 0.2 */
#define RECO_ITEMS_LOAD_OPTIONS_VERSION 1
/** Initialiser for @ref reco_items_load_options (strict, keep 100). @since 0.2 */
#define RECO_ITEMS_LOAD_OPTIONS_INIT { RECO_ITEMS_LOAD_OPTIONS_VERSION, 0, 100 }

/**
 * @brief Options for reco_items_load_csv().
 * @since 0.2
 */
typedef struct reco_items_load_options {
    unsigned int version; /**< @ref RECO_ITEMS_LOAD_OPTIONS_VERSION. */
    /** 0 (default): strict, the first bad line fails the load. Nonzero: lenient, bad lines
     *  are rejected and counted. */
    int lenient;
    /** Lenient mode: how many rejections keep their details (reco_items_rejection()); the
     *  count (reco_items_n_rejected()) covers all of them. Default 100. */
    uint32_t max_rejections;
} reco_items_load_options;

/**
 * @brief Fill @p opts with the defaults of options version @p version.
 * @param[out] opts     the struct to initialise.
 * @param[in]  version  1..@ref RECO_ITEMS_OPTIONS_VERSION.
 * @return @ref RECO_OK, @ref RECO_EINVAL if @p opts is NULL, @ref RECO_EVERSION otherwise.
 * @par Thread safety
 * Safe from any thread.
 * @since 0.2
 */
RECO_API int reco_items_options_init(reco_items_options *opts, unsigned int version);

/**
 * @brief Fill @p opts with the defaults of load options version @p version.
 * @param[out] opts     the struct to initialise.
 * @param[in]  version  1..@ref RECO_ITEMS_LOAD_OPTIONS_VERSION.
 * @return @ref RECO_OK, @ref RECO_EINVAL if @p opts is NULL, @ref RECO_EVERSION otherwise.
 * @par Thread safety
 * Safe from any thread.
 * @since 0.2
 */
RECO_API int reco_items_load_options_init(reco_items_load_options *opts, unsigned int version);

/**
 * @brief Create a table in which every item is unknown (dense 0, fields -1).
 * @param[out] out   receives the table, owned by the caller (reco_items_free()); NULL on
 *                   failure.
 * @param[in]  opts  options (read during the call; names and sizes are copied), or NULL for
 *                   defaults.
 * @return @ref RECO_OK; @ref RECO_EINVAL (NULL @p out, a count, size or name out of range,
 *         two columns with one name: the message names the option); @ref RECO_EVERSION;
 *         @ref RECO_ENOMEM.
 * @par Thread safety
 * Safe from any thread.
 * @since 0.2
 */
RECO_API int reco_items_create(reco_items **out, const reco_items_options *opts);

/**
 * @brief Free a table. NULL is accepted.
 * @param[in] items  the table; any later use is undefined, and borrowed pointers become
 *                   invalid.
 * @par Thread safety
 * No other call may be using @p items.
 * @since 0.2
 */
RECO_API void reco_items_free(reco_items *items);

/**
 * @brief Make every item unknown again (and forget the rejections); the schema stays.
 * @param[in,out] items  the table; NULL is ignored.
 * @par Thread safety
 * No other call may be using @p items.
 * @since 0.2
 */
RECO_API void reco_items_reset(reco_items *items);

/**
 * @brief Catalog size.
 * @param[in] items  the table (not NULL).
 * @return n_items (0 for NULL).
 * @par Thread safety
 * Safe concurrently with other `const` calls.
 * @since 0.2
 */
RECO_API uint32_t reco_items_n_items(const reco_items *items);

/**
 * @brief Dense features per item.
 * @param[in] items  the table (not NULL).
 * @return n_dense (0 for NULL).
 * @par Thread safety
 * Safe concurrently with other `const` calls.
 * @since 0.2
 */
RECO_API uint32_t reco_items_n_dense(const reco_items *items);

/**
 * @brief Categorical fields per item.
 * @param[in] items  the table (not NULL).
 * @return n_fields (0 for NULL).
 * @par Thread safety
 * Safe concurrently with other `const` calls.
 * @since 0.2
 */
RECO_API uint32_t reco_items_n_fields(const reco_items *items);

/**
 * @brief Name of dense feature @p k (its CSV column).
 * @param[in] items  the table.
 * @param[in] k      feature index.
 * @return a string owned by @p items, valid until it is freed; NULL if @p k >= n_dense.
 * @par Thread safety
 * Safe concurrently with other `const` calls.
 * @since 0.2
 */
RECO_API const char *reco_items_dense_name(const reco_items *items, uint32_t k);

/**
 * @brief Name of categorical field @p k (its CSV column).
 * @param[in] items  the table.
 * @param[in] k      field index.
 * @return a string owned by @p items, valid until it is freed; NULL if @p k >= n_fields.
 * @par Thread safety
 * Safe concurrently with other `const` calls.
 * @since 0.2
 */
RECO_API const char *reco_items_field_name(const reco_items *items, uint32_t k);

/**
 * @brief Number of values of categorical field @p k.
 * @param[in] items  the table.
 * @param[in] k      field index.
 * @return its size (values `0 .. size-1`); 0 if @p k >= n_fields.
 * @par Thread safety
 * Safe concurrently with other `const` calls.
 * @since 0.2
 */
RECO_API uint32_t reco_items_field_size(const reco_items *items, uint32_t k);

/**
 * @brief Borrow the dense features.
 * @param[in] items  the table.
 * @return (n_items, n_dense) floats, row-major (row stride n_dense), 0 for unknown items;
 *         owned by @p items and valid until it changes (load, set, reset) or is freed. NULL
 *         when n_dense is 0, as reco_model_set_item_features() expects.
 * @par Thread safety
 * Safe concurrently with other `const` calls.
 * @since 0.2
 */
RECO_API const float *reco_items_dense(const reco_items *items);

/**
 * @brief Borrow the categorical fields.
 * @param[in] items  the table.
 * @return (n_items, n_fields) values, row-major (row stride n_fields), each in
 *         `[0, size)` or -1 (unknown); owned by @p items and valid until it changes or is
 *         freed. NULL when n_fields is 0.
 * @par Thread safety
 * Safe concurrently with other `const` calls.
 * @since 0.2
 */
RECO_API const int32_t *reco_items_fields(const reco_items *items);

/**
 * @brief Number of known items: those of the last loaded file, or given since by
 *        reco_items_set().
 * @param[in] items  the table.
 * @return the count (0 for NULL).
 * @par Thread safety
 * Safe concurrently with other `const` calls.
 * @since 0.2
 */
RECO_API uint32_t reco_items_n_known(const reco_items *items);

/**
 * @brief Whether item @p item is known.
 * @param[in] items  the table.
 * @param[in] item   an item id.
 * @return 1 if known, 0 if unknown, out of range or @p items is NULL.
 * @par Thread safety
 * Safe concurrently with other `const` calls.
 * @since 0.2
 */
RECO_API int reco_items_is_known(const reco_items *items, int32_t item);

/**
 * @brief Give the features of one item; it becomes known.
 * @param[in,out] items   the table.
 * @param[in]     item    `0 .. n_items-1`.
 * @param[in]     dense   (n_dense) finite values, read during the call; NULL for zeros.
 * @param[in]     fields  (n_fields) values in `[0, size)` or -1 (unknown), read during the
 *                        call; NULL for all unknown.
 * @return @ref RECO_OK; @ref RECO_EINVAL (NULL @p items, @p item out of range, a value that
 *         is not finite or out of its field's range: the message names the column; nothing
 *         changes).
 * @par Thread safety
 * No other call may be using @p items.
 * @since 0.2
 */
RECO_API int reco_items_set(reco_items *items, int32_t item, const float *dense,
                            const int32_t *fields);

/**
 * @brief Replace the table's contents with the CSV file at @p path.
 *
 * The header must be exactly `item,<dense names>,<field names>`. Every line is one item:
 * its id (below n_items), its dense values (finite floats, none empty) and its field values
 * (integers in `[0, size)`, or empty for unknown). An item may appear at most once.
 *
 * Strict (default): the first problem fails the load with @ref RECO_EFORMAT. Lenient: a bad
 * line is rejected and counted; an item that appears on several lines is rejected on every
 * one of them (which one is right cannot be told), including lines rejected for another
 * reason. The header, an unreadable file or an allocation failure always fail the load.
 * reco_items_n_rejected(), reco_items_n_rejections() and reco_items_rejection() describe
 * the rejections of the last successful load (none after a strict one).
 *
 * The call is atomic: on failure the table keeps its previous contents and rejections.
 * Items not in the file are unknown afterwards.
 * @param[in,out] items  the table.
 * @param[in]     path   the file; also the source name in error details.
 * @param[in]     opts   load options, or NULL for strict.
 * @return @ref RECO_OK; @ref RECO_EINVAL (NULL or empty argument); @ref RECO_EVERSION;
 *         @ref RECO_EIO; @ref RECO_EFORMAT (reco_error_get() gives file, line, column and
 *         the column name as field); @ref RECO_ENOMEM.
 * @par Thread safety
 * No other call may be using @p items.
 * @since 0.2
 */
RECO_API int reco_items_load_csv(reco_items *items, const char *path,
                                 const reco_items_load_options *opts);

/**
 * @brief Write the known items as CSV, atomically (a temporary file renamed over @p path).
 *
 * Canonical form: the header, then the known items in id order, floats with the fewest
 * digits that read back exactly, unknown field values empty, LF line endings. Loading a
 * canonical file and saving it again gives identical bytes.
 * @param[in] items  the table.
 * @param[in] path   the destination; never left half-written.
 * @return @ref RECO_OK; @ref RECO_EINVAL; @ref RECO_EIO (the message names @p path);
 *         @ref RECO_ENOMEM.
 * @par Thread safety
 * Safe concurrently with other `const` calls.
 * @since 0.2
 */
RECO_API int reco_items_save_csv(const reco_items *items, const char *path);

/**
 * @brief Write the known items in the binary format (magic `RECOITM1`, checksummed),
 *        atomically.
 * @param[in] items  the table.
 * @param[in] path   the destination; never left half-written.
 * @return @ref RECO_OK; @ref RECO_EINVAL; @ref RECO_EIO; @ref RECO_ENOMEM.
 * @par Thread safety
 * Safe concurrently with other `const` calls.
 * @since 0.2
 */
RECO_API int reco_items_save(const reco_items *items, const char *path);

/**
 * @brief Replace the table's contents with a binary file written by reco_items_save().
 *
 * The file is verified whole — checksums, the schema (n_items, the dense and field names,
 * the field sizes: each must equal the table's, and a difference is named), item ids
 * (increasing, below n_items), every value — before anything changes; on any error the
 * table is untouched.
 * @param[in,out] items  the table.
 * @param[in]     path   the file.
 * @return @ref RECO_OK; @ref RECO_EINVAL; @ref RECO_EIO; @ref RECO_EFORMAT; @ref RECO_EVERSION;
 *         @ref RECO_ENOMEM.
 * @par Thread safety
 * No other call may be using @p items.
 * @since 0.2
 */
RECO_API int reco_items_load(reco_items *items, const char *path);

/**
 * @brief Number of lines the last CSV load rejected (lenient mode); 0 otherwise.
 * @param[in] items  the table.
 * @return the count.
 * @par Thread safety
 * Safe concurrently with other `const` calls.
 * @since 0.2
 */
RECO_API uint64_t reco_items_n_rejected(const reco_items *items);

/**
 * @brief Number of rejections whose details were kept (at most the load's
 *        @c max_rejections), in file order.
 * @param[in] items  the table.
 * @return the count.
 * @par Thread safety
 * Safe concurrently with other `const` calls.
 * @since 0.2
 */
RECO_API size_t reco_items_n_rejections(const reco_items *items);

/**
 * @brief Details of kept rejection @p i: code (@ref RECO_EFORMAT), message, source file,
 *        line, column and column name (`field`), as reco_error_get() would have given them.
 * @param[out] out    receives pointers owned by @p items, valid until its next load, reset
 *                    or free; its @c version must be set.
 * @param[in]  items  the table.
 * @param[in]  i      `< reco_items_n_rejections()`.
 * @return @ref RECO_OK, @ref RECO_EINVAL, or @ref RECO_EVERSION.
 * @par Thread safety
 * Safe concurrently with other `const` calls.
 * @since 0.2
 */
RECO_API int reco_items_rejection(reco_error_info *out, const reco_items *items, size_t i);

RECO_END_DECLS

/** @} */
#endif /* RECO_ITEMS_H */
