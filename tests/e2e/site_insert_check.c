/* site_insert_check.c - run by test_site.sh against a real PostgreSQL database of its own:
 * ra_site_insert takes the searched columns and the evidence list from each message on the
 * client (a scan of the JSON text, app/src/ra_site.c); here the server is the oracle. Messages
 * made to be awkward (escaped strings and keys, surrogate pairs, duplicate keys, numbers,
 * nulls, absent members, evidence entries that are not objects or have no sha256, evidence
 * that is not an array, pretty-printed JSON) are inserted, and every column and evidence row
 * must equal what PostgreSQL's own JSON operators read from the stored message. Malformed
 * messages must be refused naming the station and seq, the batch left out whole.
 *
 *   site_insert_check CONNINFO      exit 0 when every check holds, 1 otherwise */
#include "ra/ra_site.h"
#include "rv/rv_error.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int fails;

#define CHECK(cond, ...)                                                                      \
    do {                                                                                      \
        if (cond) {                                                                           \
            printf("ok: ");                                                                   \
        } else {                                                                              \
            printf("FAILED: ");                                                               \
            fails++;                                                                          \
        }                                                                                     \
        printf(__VA_ARGS__);                                                                  \
        printf("\n");                                                                         \
    } while (0)

static long long s_count(PGconn *c, const char *sql, const char *station)
{
    const char *p[1] = {station};
    PGresult *r = PQexecParams(c, sql, 1, NULL, p, NULL, NULL, 0);
    long long n = -1;
    if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
        n = atoll(PQgetvalue(r, 0, 0));
    else
        fprintf(stderr, "query failed: %s", PQerrorMessage(c));
    PQclear(r);
    return n;
}

/* ra_site_search's deliveries: the stations and seqs in order, and the choices seen. */
typedef struct s_found {
    uint64_t seq[8];
    int n, families, has_demo_disc;
} s_found_t;

static int s_found_record(void *arg, const ra_site_record_t *rec)
{
    s_found_t *f = arg;
    if (f->n < 8)
        f->seq[f->n++] = rec->seq;
    return 0;
}

static int s_found_choice(void *arg, const char *column, const char *value)
{
    s_found_t *f = arg;
    if (!strcmp(column, "family")) {
        f->families++;
        f->has_demo_disc |= !strcmp(value, "demo-disc");
    }
    return 0;
}

/* Rows of the station whose columns differ from the server's reading of the message. */
static const char *s_col_sql =
    "SELECT count(*) FROM decisions d, LATERAL (SELECT d.message::jsonb AS j) m"
    " WHERE d.station = $1 AND NOT ("
    " d.id IS NOT DISTINCT FROM (m.j->>'id')::uuid"
    " AND d.ts IS NOT DISTINCT FROM (m.j->>'ts')::timestamptz"
    " AND d.serial IS NOT DISTINCT FROM m.j->>'serial'"
    " AND d.part_number IS NOT DISTINCT FROM m.j->>'part_number'"
    " AND d.family IS NOT DISTINCT FROM m.j->>'family'"
    " AND d.route IS NOT DISTINCT FROM m.j->>'route'"
    " AND d.proposal IS NOT DISTINCT FROM m.j->>'proposal'"
    " AND d.operator IS NOT DISTINCT FROM m.j->>'operator'"
    " AND d.override_reason IS NOT DISTINCT FROM m.j->'override'->>'reason_code'"
    " AND d.session IS NOT DISTINCT FROM (m.j->>'session')::bigint"
    " AND d.chain_hash IS NOT DISTINCT FROM m.j->'chain'->>'hash'"
    " AND d.chain_n IS NOT DISTINCT FROM (m.j->'chain'->>'n')::bigint"
    " AND d.sig IS NOT DISTINCT FROM m.j->'chain'->>'sig')";

/* Evidence rows that differ, both ways, from the server's reading of each message. */
static const char *s_ev_sql =
    "WITH want AS (SELECT d.station, d.seq, e->>'sha256' AS sha256, e->>'kind' AS kind"
    " FROM decisions d, jsonb_array_elements(CASE WHEN jsonb_typeof(d.message::jsonb->"
    "'evidence') = 'array' THEN d.message::jsonb->'evidence' ELSE '[]'::jsonb END) e"
    " WHERE d.station = $1 AND jsonb_typeof(e) = 'object' AND e->>'sha256' IS NOT NULL),"
    " got AS (SELECT station, seq, sha256, kind FROM decision_evidence WHERE station = $1)"
    " SELECT (SELECT count(*) FROM (SELECT * FROM want EXCEPT SELECT * FROM got) a)"
    " + (SELECT count(*) FROM (SELECT * FROM got EXCEPT SELECT * FROM want) b)";

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: site_insert_check CONNINFO\n");
        return 2;
    }
    ra_site_t *site = ra_site_open(argv[1]);
    PGconn *c = PQconnectdb(argv[1]);
    if (!site || PQstatus(c) != CONNECTION_OK) {
        fprintf(stderr, "site_insert_check: cannot connect: %s %s\n", rv_last_error(),
                PQerrorMessage(c));
        return 1;
    }
    char st[64];
    snprintf(st, sizeof st, "check-%d", (int) getpid());
    static const char *tmpl[] = {
        /* as a station writes them */
        "{\"evidence\":[{\"kind\":\"original\",\"sha256\":\"0a0a\"},{\"kind\":\"overlay\","
        "\"sha256\":\"0b0b\"}],\"family\":\"demo-disc\",\"id\":"
        "\"6b0d7c3e-1f2a-4b5c-9d8e-XXXXXXXXXXXX\",\"operator\":\"tech1\",\"override\":"
        "{\"reason_code\":\"R-07\",\"text\":\"seen\"},\"part_number\":\"PN-1\",\"proposal\":"
        "\"reuse\",\"route\":\"reuse\",\"serial\":\"SN-1\",\"session\":7,\"ts\":"
        "\"2026-12-03T10:00:00.123Z\",\"chain\":{\"hash\":\"aa\",\"n\":3,\"prev\":\"00\","
        "\"sig\":\"cc\"}}",
        /* escapes, a surrogate pair, an escaped key, duplicate keys (the last wins) */
        "{\"serial\":\"S\\\"N\\\\2 \\u00e9 \\ud83d\\ude00 \\n\\t\\/\",\"\\u0066amily\":\"f\\u00fc\","
        "\"route\":\"scrap\",\"route\":\"repair\",\"part_number\":\"\",\"id\":"
        "\"00000000-0000-4000-8000-XXXXXXXXXXXX\",\"ts\":\"2026-12-03T10:00:01Z\","
        "\"evidence\":[],\"chain\":{\"n\":4,\"hash\":\"h\",\"sig\":\"s\"}}",
        /* numbers, null, booleans; nothing absent is invented */
        "{\"serial\":12345,\"operator\":null,\"proposal\":true,\"part_number\":1.50,"
        "\"session\":-3,\"override\":\"not an object\",\"chain\":{\"n\":5},"
        "\"evidence\":{\"sha256\":\"not in a list\"}}",
        /* pretty-printed; evidence entries that are not objects, lack a sha256 or a kind */
        "{\n  \"serial\" : \"SN-4\" ,\n  \"evidence\" : [ 1, \"x\", {\"kind\":\"no hash\"},"
        " {\"sha256\":null}, {\"sha256\":\"0c0c\"}, [ {\"sha256\":\"nested\"} ],"
        " {\"sha256\":\"0d0d\",\"kind\":\"overlay\",\"extra\":{\"deep\":[[[]]]}} ]\n}\n",
    };
    /* ids unique to this run (the site's id column is unique) */
    const size_t n = sizeof tmpl / sizeof *tmpl;
    char msgs[4][1024];
    for (size_t i = 0; i < n; i++) {
        snprintf(msgs[i], sizeof msgs[i], "%s", tmpl[i]);
        char *x = strstr(msgs[i], "XXXXXXXXXXXX"), id[16];
        snprintf(id, sizeof id, "%012x", (unsigned) getpid());
        if (x)
            memcpy(x, id, 12);
    }
    ra_site_decision_t rows[8];
    for (size_t i = 0; i < n; i++)
        rows[i] = (ra_site_decision_t){st, i + 1, msgs[i], strlen(msgs[i])};
    size_t ins = 0;
    int rc = ra_site_insert(site, rows, n, &ins);
    CHECK(rc == RV_OK && ins == n, "%zu awkward messages inserted (%s)", ins,
          rc == RV_OK ? "" : rv_last_error());
    CHECK(s_count(c, s_col_sql, st) == 0,
          "every searched column equals the server's reading of the message");
    CHECK(s_count(c, s_ev_sql, st) == 0,
          "decision_evidence equals the server's reading of each evidence list");
    CHECK(s_count(c, "SELECT count(*) FROM decision_evidence WHERE station = $1", st) == 4,
          "four evidence rows (two of the first message, two of the fourth)");
    CHECK(s_count(c, "SELECT count(*) FROM decisions WHERE station = $1 AND seq = 2 AND"
                     " serial = E'S\"N\\\\2 \\u00e9 \\U0001F600 \\n\\t/' AND family = E'f\\u00fc'"
                     " AND route = 'repair'", st) == 1,
          "escapes decoded, the escaped key found, the last duplicate kept");
    CHECK(s_count(c, "SELECT count(*) FROM decisions_doc WHERE station = $1 AND"
                     " doc->>'serial' = 'SN-4'", st) == 1,
          "the decisions_doc view gives each message as jsonb");

    /* malformed: refused naming station and seq, and nothing of the batch kept */
    static const char *bad[] = {
        "{\"serial\":\"cut", "{\"serial\":\"x\"} trailing", "[1,2]", "{\"a\":\"\\x\"}",
        "{\"a\":01}", "{\"a\":tru}", "{\"a\":\"ctl\x01\"}", "{\"evidence\":[{\"sha256\":\"x\"},]}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        ra_site_decision_t two[2] = {{st, 100 + 2 * i, msgs[0], strlen(msgs[0])},
                                     {st, 101 + 2 * i, bad[i], strlen(bad[i])}};
        rc = ra_site_insert(site, two, 2, &ins);
        char want[96];
        snprintf(want, sizeof want, "station %s seq %zu", st, 101 + 2 * i);
        CHECK(rc != RV_OK && strstr(rv_last_error(), want),
              "malformed message %zu refused naming %s: %s", i, want, rv_last_error());
        /* the collector's check before a batch: the same refusal, no connection needed */
        rc = ra_site_decision_check(&two[1]);
        CHECK(rc == RV_EFORMAT && strstr(rv_last_error(), want),
              "malformed message %zu found by ra_site_decision_check: %s", i, rv_last_error());
    }
    for (size_t i = 0; i < n; i++) {
        rc = ra_site_decision_check(&rows[i]);
        CHECK(rc == RV_OK, "awkward message %zu passes ra_site_decision_check%s%s", i,
              rc == RV_OK ? "" : ": ", rc == RV_OK ? "" : rv_last_error());
    }
    CHECK(s_count(c, "SELECT count(*) FROM decisions WHERE station = $1 AND seq >= 100", st) == 0,
          "no row of a refused batch kept");
    /* the search the audit browser asks for (the server filters and counts): this
     * station's two timed decisions, seq 1 (10:00:00.123, demo-disc, SN-1, reuse, tech1)
     * and seq 2 (10:00:01, repair) */
    {
        s_found_t f = {{0}, 0, 0, 0};
        size_t matched = 0;
        ra_site_search_t sq = {.station = st};
        rc = ra_site_search(site, &sq, s_found_choice, s_found_record, &f, &matched);
        CHECK(rc == 2 && matched == 2 && f.n == 2 && f.seq[0] == 2 && f.seq[1] == 1,
              "search by station: %d given, %zu matched, newest first (%s)", rc, matched,
              rc < 0 ? rv_last_error() : "");
        CHECK(f.has_demo_disc && f.families >= 2, "the period's families offered (%d)",
              f.families);
        f.n = 0;
        sq.max = 1;
        rc = ra_site_search(site, &sq, NULL, s_found_record, &f, &matched);
        CHECK(rc == 1 && matched == 2 && f.seq[0] == 2, "max 1: the newest given, 2 counted");
        const ra_site_search_t one[] = {
            {.station = st, .family = "demo-disc"},
            {.station = st, .serial_part = "sn-"},
            {.station = st, .route = "reuse", .operator_id = "tech1"},
            {.station = st, .to = "2026-12-03T10:00:00.5"},
            {.station = st, .from = "2026-12-03", .to = "2026-12-03T10:00:00"},
        };
        for (size_t i = 0; i < sizeof one / sizeof one[0]; i++) {
            f.n = 0;
            rc = ra_site_search(site, &one[i], NULL, s_found_record, &f, &matched);
            CHECK(rc == 1 && matched == 1 && f.seq[0] == 1, "search %zu finds seq 1 alone (%d, %zu)",
                  i, rc, matched);
        }
        /* a part of a serial is matched as written: LIKE's % and _ and its escape \ are
         * plain characters in it (seq 2's serial holds a backslash: S"N\2 ...) */
        const ra_site_search_t back = {.station = st, .serial_part = "n\\2"};
        f.n = 0;
        rc = ra_site_search(site, &back, NULL, s_found_record, &f, &matched);
        CHECK(rc == 1 && matched == 1 && f.seq[0] == 2, "a part with a backslash finds seq 2 (%d)",
              rc);
        char st3[64], wild[2][200];
        snprintf(st3, sizeof st3, "check3-%d", (int) getpid());
        for (int k = 0; k < 2; k++)
            snprintf(wild[k], sizeof wild[k],
                     "{\"id\":\"5e2f9a1b-3c4d-4e5f-8a9b-%04x%08x\",\"serial\":\"%s\","
                     "\"ts\":\"2026-12-03T11:00:0%dZ\"}",
                     k, (unsigned) getpid(), k ? "AxByC-2" : "A%B_c-1", k);
        ra_site_decision_t wb[2] = {{st3, 1, wild[0], strlen(wild[0])},
                                    {st3, 2, wild[1], strlen(wild[1])}};
        size_t wins = 0;
        rc = ra_site_insert(site, wb, 2, &wins);
        CHECK(rc == RV_OK && wins == 2, "two serials with %% and _ stored (%s)",
              rc == RV_OK ? "" : rv_last_error());
        static const struct {
            const char *part;
            int seq; /* 0: none */
        } parts[] = {{"%b_", 1}, {"b_C", 1}, {"xby", 2}, {"a%", 1}, {"%", 1}, {"_", 1},
                     {"a_b", 0}, {"x%y", 0}, {"-", -1}};
        for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
            ra_site_search_t ws = {.station = st3, .serial_part = parts[i].part};
            f.n = 0;
            rc = ra_site_search(site, &ws, NULL, s_found_record, &f, &matched);
            size_t want_n = parts[i].seq < 0 ? 2 : parts[i].seq > 0 ? 1 : 0;
            CHECK(rc == (int) want_n && matched == want_n &&
                      (parts[i].seq <= 0 || f.seq[0] == (uint64_t) parts[i].seq),
                  "serial part \"%s\": %d given, %zu matched, want %zu", parts[i].part, rc,
                  matched, want_n);
        }
        ra_site_search_t none = {.station = st, .family = "no-such-family"};
        rc = ra_site_search(site, &none, NULL, s_found_record, &f, &matched);
        CHECK(rc == 0 && matched == 0, "no match: none given, 0 counted");
        ra_site_search_t bad_date = {.from = "yesterday"};
        rc = ra_site_search(site, &bad_date, NULL, s_found_record, &f, &matched);
        CHECK(rc == RV_EINVAL && strstr(rv_last_error(), "yesterday"), "a bad date refused: %s",
              rv_last_error());
    }
    /* an id another decision holds: the row goes to rejected naming the holder, the rest
     * of its batch is stored (before, the unique id failed the batch on every retry) */
    {
        char st2[64], held[160], mine[4][160];
        snprintf(st2, sizeof st2, "check2-%d", (int) getpid());
        const char *id0 = strstr(msgs[0], "6b0d7c3e");
        snprintf(held, sizeof held, "{\"id\":\"%.36s\",\"serial\":\"dup\"}", id0);
        for (int k = 0; k < 4; k++) /* seq 4 and 5 share one id: the second loses */
            snprintf(mine[k], sizeof mine[k],
                     "{\"id\":\"7c1e8d4f-2a3b-4c5d-8e9f-%04x%08x\",\"serial\":\"S%d\"}",
                     k < 2 ? k : 2, (unsigned) getpid(), k);
        ra_site_decision_t batch[5] = {{st2, 1, mine[0], strlen(mine[0])},
                                       {st2, 2, held, strlen(held)},
                                       {st2, 3, mine[1], strlen(mine[1])},
                                       {st2, 4, mine[2], strlen(mine[2])},
                                       {st2, 5, mine[3], strlen(mine[3])}};
        rc = ra_site_insert(site, batch, 5, &ins);
        CHECK(rc == RV_OK && ins == 3, "a batch with two id collisions stored: %zu of 5 (%s)",
              ins, rc == RV_OK ? "" : rv_last_error());
        CHECK(s_count(c, "SELECT count(*) FROM decisions WHERE station = $1 AND seq IN (1, 3, 4)",
                      st2) == 3,
              "its other decisions stored");
        char want[400];
        snprintf(want, sizeof want,
                 "SELECT count(*) FROM rejected WHERE station = $1 AND seq = 2 AND reason ="
                 " 'the id %.36s is held by station %s seq 1' AND message IS NOT NULL",
                 id0, st);
        CHECK(s_count(c, want, st2) == 1, "the collision kept in rejected, naming the holder");
        CHECK(s_count(c, "SELECT count(*) FROM rejected WHERE station = $1 AND seq = 5 AND"
                         " reason LIKE '% is held by another decision of its batch'",
                      st2) == 1,
              "a collision inside the batch kept in rejected");
        /* and told to the caller, as stored */
        const char *who[2] = {"", ""}, *why[2] = {"", ""};
        uint64_t sq[2] = {0, 0};
        size_t nref = ra_site_insert_refused(site, 0, &who[0], &sq[0], &why[0]);
        ra_site_insert_refused(site, 1, &who[1], &sq[1], &why[1]);
        char want2[200];
        snprintf(want2, sizeof want2, "the id %.36s is held by station %s seq 1", id0, st);
        CHECK(nref == 2 && !strcmp(who[0], st2) && sq[0] == 2 && !strcmp(why[0], want2) &&
                  !strcmp(who[1], st2) && sq[1] == 5 &&
                  strstr(why[1], "is held by another decision of its batch"),
              "the two refusals told to the caller: %zu (%s seq %llu: %s; %s seq %llu: %s)",
              nref, who[0], (unsigned long long) sq[0], why[0], who[1],
              (unsigned long long) sq[1], why[1]);
        /* sent again (a collector restarted): nothing new, no error */
        rc = ra_site_insert(site, batch, 5, &ins);
        CHECK(rc == RV_OK && ins == 0 && ra_site_insert_refused(site, 0, NULL, NULL, NULL) == 0,
              "the same batch again: %zu new, nothing refused (%s)", ins,
              rc == RV_OK ? "" : rv_last_error());
        CHECK(s_count(c, "SELECT count(*) FROM rejected WHERE station = $1 AND seq IN (2, 5)",
                      st2) == 2,
              "sent again, the collisions are not rejected twice");
    }
    /* values the insert's casts would refuse: found before the server, by name */
    {
        static const char *typed[][2] = {
            {"{\"id\":\"not-a-uuid\"}", "\"id\" is not a UUID"},
            {"{\"id\":12345}", "\"id\" is not a UUID"},
            {"{\"ts\":\"yesterday\"}", "\"ts\" is not an RFC 3339 time"},
            {"{\"ts\":5}", "\"ts\" is not an RFC 3339 time"},
            {"{\"ts\":\"0000-01-01T00:00:00Z\"}", "\"ts\" is not an RFC 3339 time"},
            {"{\"session\":1.5}", "\"session\" is not an integer"},
            {"{\"session\":99999999999999999999}", "\"session\" is not an integer"},
            {"{\"session\":9223372036854775808}", "\"session\" is out of"},
            {"{\"chain\":{\"n\":\"x\"}}", "\"chain.n\" is not an integer"},
        };
        for (size_t i = 0; i < sizeof typed / sizeof typed[0]; i++) {
            ra_site_decision_t one = {st, 600 + i, typed[i][0], strlen(typed[i][0])};
            rc = ra_site_decision_check(&one);
            CHECK(rc == RV_EFORMAT && strstr(rv_last_error(), typed[i][1]),
                  "%s refused: %s", typed[i][0], rv_last_error());
            rc = ra_site_insert(site, &one, 1, &ins);
            CHECK(rc != RV_OK && strstr(rv_last_error(), typed[i][1]),
                  "%s refused by the insert: %s", typed[i][0], rv_last_error());
        }
    }
    /* 300 nested arrays: the line's parser (jansson, up to 2048 levels) takes such a
     * message, and a station could sign it; the site's scanner stops at 256. The
     * collector must find it before the batch (else the batch fails for ever). */
    {
        char nest[700];
        size_t k = (size_t) snprintf(nest, sizeof nest, "{\"serial\":\"N\",\"x\":");
        for (int i = 0; i < 300; i++)
            nest[k++] = '[';
        for (int i = 0; i < 300; i++)
            nest[k++] = ']';
        nest[k++] = '}';
        ra_site_decision_t one = {st, 400, nest, k};
        CHECK(ra_site_decision_check(&one) == RV_EFORMAT && strstr(rv_last_error(), "seq 400"),
              "300 nested arrays found by ra_site_decision_check: %s", rv_last_error());
    }
    /* a deep nest is refused, not a stack overflow */
    size_t deep = 100000;
    char *d = malloc(2 * deep + 16);
    if (d) {
        size_t k = 0;
        d[k++] = '{';
        memcpy(d + k, "\"a\":", 4);
        k += 4;
        for (size_t i = 0; i < deep; i++)
            d[k++] = '[';
        for (size_t i = 0; i < deep; i++)
            d[k++] = ']';
        d[k++] = '}';
        ra_site_decision_t one = {st, 500, d, k};
        rc = ra_site_insert(site, &one, 1, &ins);
        CHECK(rc != RV_OK && strstr(rv_last_error(), "seq 500"),
              "100,000 nested arrays refused: %s", rv_last_error());
        free(d);
    }
    /* an insert in flight: every other call is refused by name, the insert still ends
     * whole, and then the calls work again */
    {
        ra_site_decision_t one = {st, 700, msgs[3], strlen(msgs[3])};
        rc = ra_site_insert_send(site, &one, 1);
        CHECK(rc == RV_OK, "an insert sent (%s)", rc == RV_OK ? "" : rv_last_error());
        ra_site_search_t q;
        memset(&q, 0, sizeof q);
        s_found_t f;
        memset(&f, 0, sizeof f);
        size_t matched = 0;
        int rs = ra_site_search(site, &q, NULL, s_found_record, &f, &matched);
        CHECK(rs < 0 && strstr(rv_last_error(), "search: an insert is in flight"),
              "a search during the insert refused: %s", rv_last_error());
        ra_site_counts_t cnt;
        int rcn = ra_site_counts(site, st, &cnt);
        CHECK(rcn < 0 && strstr(rv_last_error(), "counts: an insert is in flight"),
              "counts during the insert refused: %s", rv_last_error());
        size_t ins2 = 0;
        int ri = ra_site_insert(site, &one, 1, &ins2);
        CHECK(ri < 0 && strstr(rv_last_error(), "insert: an insert is in flight"),
              "a second insert during the first refused: %s", rv_last_error());
        rc = ra_site_insert_end(site, &ins2);
        CHECK(rc == RV_OK && ins2 == 1, "the insert in flight ended whole: %zu inserted (%s)",
              ins2, rc == RV_OK ? "" : rv_last_error());
        rcn = ra_site_counts(site, st, &cnt);
        CHECK(rcn == RV_OK, "counts after it (%s)", rcn == RV_OK ? "" : rv_last_error());
        CHECK(s_count(c, "SELECT count(*) FROM decisions WHERE station = $1 AND seq = 700", st) ==
                  1,
              "the decision sent before the refused calls is stored");
    }
    PQfinish(c);
    ra_site_close(&site);
    printf("%s\n", fails ? "site_insert_check: FAILED" : "site_insert_check: all passed");
    return fails ? 1 : 0;
}
