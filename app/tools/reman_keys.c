/* reman_keys.c - reman-keys: CURVE key pairs for the line (docs/protocol.md, "Security").
 *
 *   reman-keys new PATH    write PATH (public and secret key, mode 0600) and PATH.pub (the
 *                          public key alone); never overwrites an existing file
 *   reman-keys show PATH   print the public key (Z85) of a key pair or .pub file
 *
 * The station gets a key pair (--key) and a directory of its clients' .pub files (the
 * allow-list); each client gets a key pair and the station's public key. */
#include "ra/ra_line.h"
#include "rv/rv_error.h"

#include <stdio.h>
#include <string.h>

enum { EXIT_FAILED = 1, EXIT_USAGE = 2 };

static void s_usage(FILE *f)
{
    fprintf(f, "usage: reman-keys new PATH     write a CURVE key pair: PATH (secret, mode 0600)\n"
               "                               and PATH.pub (public)\n"
               "       reman-keys show PATH    print the public key (Z85) of PATH\n");
}

int main(int argc, char **argv)
{
    if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        s_usage(stdout);
        return 0;
    }
    if (argc != 3 || (strcmp(argv[1], "new") != 0 && strcmp(argv[1], "show") != 0)) {
        s_usage(stderr);
        return EXIT_USAGE;
    }
    const char *path = argv[2];
    char z85[41];
    if (!strcmp(argv[1], "new")) {
        if (ra_line_keys_new(path) != RV_OK || ra_line_keys_public(path, z85) != RV_OK) {
            fprintf(stderr, "reman-keys: %s\n", rv_last_error());
            return EXIT_FAILED;
        }
        printf("%s\n", z85);
        fprintf(stderr, "reman-keys: wrote %s (keep it secret) and %s.pub\n", path, path);
        return 0;
    }
    if (ra_line_keys_public(path, z85) != RV_OK) {
        fprintf(stderr, "reman-keys: %s\n", rv_last_error());
        return EXIT_FAILED;
    }
    printf("%s\n", z85);
    return 0;
}
