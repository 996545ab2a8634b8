/* reman_operator.c - reman-operator: the station's operators and their roles.
 *
 *   reman-operator add   --store DIR --station ID OPERATOR --name NAME --role technician|supervisor
 *   reman-operator check --store DIR --station ID OPERATOR
 *
 * The PIN is read from the terminal without echo (or one line of stdin when it is not a
 * terminal) and kept only as an Argon2id hash in a ledger record (ra_store.h): adding an
 * operator again appends a new record that replaces the PIN or role; nothing is erased. */
#include "ra/ra_store.h"
#include "ra/ra_version.h"
#include "rv/rv.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

static void s_usage(FILE *f)
{
    fprintf(f,
            "usage: reman-operator add --store DIR --station ID OPERATOR --name NAME\n"
            "                          --role technician|supervisor\n"
            "       reman-operator check --store DIR --station ID OPERATOR\n"
            "The PIN (4-64 characters) is read from the terminal without echo, or as one line\n"
            "of standard input. It is stored only as an Argon2id hash, in a signed record.\n"
            "A supervisor's id and PIN are needed for an override that upgrades a route.\n"
            "exit status: 0 done (check: the PIN is right); 1 refused (wrong PIN, unknown\n"
            "operator, store error); 2 usage error.\n");
}

/* One line from the terminal without echo, or from stdin. */
static int s_read_pin(const char *prompt, char *pin, size_t size)
{
    int tty = isatty(STDIN_FILENO);
    struct termios old, quiet;
    if (tty) {
        fprintf(stderr, "%s", prompt);
        tcgetattr(STDIN_FILENO, &old);
        quiet = old;
        quiet.c_lflag &= ~(tcflag_t) ECHO;
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
    }
    char *got = fgets(pin, (int) size, stdin);
    if (tty) {
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
        fputc('\n', stderr);
    }
    if (!got)
        return -1;
    pin[strcspn(pin, "\r\n")] = '\0';
    return 0;
}

int main(int argc, char **argv)
{
    const char *cmd = NULL, *dir = NULL, *station = NULL, *id = NULL, *name = NULL,
               *role_arg = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            s_usage(stdout);
            return 0;
        } else if (!strcmp(a, "--version")) {
            printf("%s\n", ra_version());
            return 0;
        } else if (!strcmp(a, "--store") && i + 1 < argc) {
            dir = argv[++i];
        } else if (!strcmp(a, "--station") && i + 1 < argc) {
            station = argv[++i];
        } else if (!strcmp(a, "--name") && i + 1 < argc) {
            name = argv[++i];
        } else if (!strcmp(a, "--role") && i + 1 < argc) {
            role_arg = argv[++i];
        } else if (a[0] == '-') {
            fprintf(stderr, "reman-operator: unknown option or missing value: %s\n", a);
            return 2;
        } else if (!cmd) {
            cmd = a;
        } else if (!id) {
            id = a;
        } else {
            fprintf(stderr, "reman-operator: unexpected argument: %s\n", a);
            return 2;
        }
    }
    int add = cmd && !strcmp(cmd, "add"), check = cmd && !strcmp(cmd, "check");
    if ((!add && !check) || !dir || !station || !id) {
        s_usage(stderr);
        return 2;
    }
    int role = RA_ROLE_TECHNICIAN;
    if (add && (!name || !role_arg || (role = ra_role_parse(role_arg)) < 0)) {
        fprintf(stderr, "reman-operator: add needs --name and --role technician|supervisor\n");
        return 2;
    }
    if (sodium_init() < 0 || rv_init() != RV_OK)
        return 1;
    ra_store_t *store = ra_store_open(dir, station, add ? RA_STORE_WRITE : RA_STORE_READONLY);
    if (!store) {
        fprintf(stderr, "reman-operator: %s\n", rv_last_error());
        return 1;
    }
    char pin[128], again[128];
    int rc = 1;
    if (s_read_pin("PIN: ", pin, sizeof pin) != 0) {
        fprintf(stderr, "reman-operator: no PIN given\n");
    } else if (add && isatty(STDIN_FILENO) &&
               (s_read_pin("PIN again: ", again, sizeof again) != 0 || strcmp(pin, again))) {
        fprintf(stderr, "reman-operator: the PINs differ\n");
    } else if (add) {
        if (ra_store_operator_add(store, id, name, (ra_role_t) role, pin) == RV_OK) {
            printf("operator %s (%s) added as %s\n", id, name, ra_role_name((ra_role_t) role));
            rc = 0;
        } else
            fprintf(stderr, "reman-operator: %s\n", rv_last_error());
    } else {
        ra_role_t r;
        if (ra_store_operator_check(store, id, pin, &r) == RV_OK) {
            printf("operator %s: PIN right, role %s\n", id, ra_role_name(r));
            rc = 0;
        } else
            fprintf(stderr, "reman-operator: %s\n", rv_last_error());
    }
    sodium_memzero(pin, sizeof pin);
    sodium_memzero(again, sizeof again);
    ra_store_close(&store);
    return rc;
}
