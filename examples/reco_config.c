/* reco-config: check an experiment configuration and print the effective one.
 *
 * Every option libreco reads from YAML, with its default when the file leaves it out. Errors
 * name the file, line, column and option path; the exit status says whether it was valid.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RECO_LAB_API /* the configuration is lab API (docs/abi.md) */
#include <reco/reco.h>

static void usage(FILE *to)
{
    fprintf(to,
        "NAME\n"
        "    reco-config - validate a libreco experiment configuration\n\n"
        "SYNOPSIS\n"
        "    reco-config [--set PATH=VALUE]... [--output FILE] [CONFIG.yaml]\n\n"
        "DESCRIPTION\n"
        "    Loads CONFIG.yaml (or only the defaults when no file is given), applies each\n"
        "    --set override in order (e.g. --set experiment.seed=7, or\n"
        "    --set 'experiment.output.formats=[json, png]'), and prints the effective\n"
        "    configuration as YAML: every option, defaults included. The output reloads to\n"
        "    the same configuration.\n\n"
        "OPTIONS\n"
        "    --set PATH=VALUE  override one option after loading the file\n"
        "    --output FILE     write the effective configuration to FILE (atomically)\n"
        "                      instead of standard output\n"
        "    -h, --help        show this text\n\n"
        "EXIT STATUS\n"
        "    0 valid; 1 invalid configuration or I/O error (the message says where);\n"
        "    2 bad command line.\n");
}

static int fail(void)
{
    fprintf(stderr, "reco-config: %s [%s]\n", reco_error_message(),
            reco_status_name(reco_error_code()));
    return 1;
}

int main(int argc, char **argv)
{
    const char *file = NULL;
    const char *output = NULL;
    int first_set = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(argv[i], "--set") == 0 || strcmp(argv[i], "--output") == 0) {
            if (i + 1 >= argc) {
                fprintf(stderr, "reco-config: %s needs an argument (see --help)\n", argv[i]);
                return 2;
            }
            if (argv[i][2] == 'o')
                output = argv[i + 1];
            else if (first_set == 0)
                first_set = i;
            i++;
        } else if (argv[i][0] == '-') {
            fprintf(stderr, "reco-config: unknown option '%s' (see --help)\n", argv[i]);
            return 2;
        } else if (file == NULL) {
            file = argv[i];
        } else {
            fprintf(stderr, "reco-config: more than one configuration file given\n");
            return 2;
        }
    }

    reco_config *cfg = NULL;
    if (reco_config_create(&cfg, NULL) < 0)
        return fail();
    int status = 0;
    if (file != NULL && reco_config_load_file(cfg, file) < 0) {
        status = fail();
        goto done;
    }
    for (int i = first_set; i > 0 && i < argc; i++) {
        if (strcmp(argv[i], "--set") != 0) {
            if (strcmp(argv[i], "--output") == 0)
                i++;
            continue;
        }
        char *arg = argv[++i];
        char *eq = strchr(arg, '=');
        if (eq == NULL) {
            fprintf(stderr, "reco-config: --set expects PATH=VALUE, got '%s'\n", arg);
            status = 2;
            goto done;
        }
        *eq = '\0';
        if (reco_config_set(cfg, arg, eq + 1) < 0) {
            status = fail();
            goto done;
        }
    }
    if (output != NULL) {
        if (reco_config_write_file(cfg, output) < 0)
            status = fail();
        goto done;
    }
    size_t len = 0;
    reco_config_write_string(cfg, NULL, 0, &len);
    char *text = malloc(len + 1);
    if (text == NULL) {
        fprintf(stderr, "reco-config: out of memory\n");
        status = 1;
        goto done;
    }
    if (reco_config_write_string(cfg, text, len + 1, &len) < 0) {
        status = fail();
    } else {
        fwrite(text, 1, len, stdout);
    }
    free(text);
done:
    reco_config_free(cfg);
    return status;
}
