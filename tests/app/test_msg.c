/* test_msg.c - the line protocol's messages without sockets (ra_msg.h): builders and
 * parsers agree; every envelope rule refuses what breaks it, with a reason; a real
 * store's decision verifies (hash, Ed25519 signature, chain) and any change to it, a wrong
 * key or a wrong previous hash does not; the timestamp helper is RFC 3339 UTC with ms. */
#include "line_fixture.h"

static void test_time(void)
{
    char ts[RA_MSG_TS_SIZE];
    ra_msg_timestamp_at(0, ts);
    RS_CHECK(strcmp(ts, "1970-01-01T00:00:00.000Z") == 0);
    ra_msg_timestamp_at(1735689599999LL, ts);
    RS_CHECK(strcmp(ts, "2024-12-31T23:59:59.999Z") == 0);
    ra_msg_timestamp_at(-1, ts);
    RS_CHECK(strcmp(ts, "1969-12-31T23:59:59.999Z") == 0);
    ra_msg_timestamp(ts);
    RS_CHECK(strlen(ts) == 24 && ts[10] == 'T' && ts[23] == 'Z' && ra_msg_timestamp_ok(ts));
    RS_CHECK(ra_msg_timestamp_ok("2026-01-01T00:00:00Z"));
    RS_CHECK(ra_msg_timestamp_ok("2026-01-01T00:00:00.123456+05:30"));
    RS_CHECK(!ra_msg_timestamp_ok("2026-13-01T00:00:00Z"));
    RS_CHECK(!ra_msg_timestamp_ok("2026-01-01 00:00:00Z"));
    RS_CHECK(!ra_msg_timestamp_ok("2026-01-01T00:00:00"));
    RS_CHECK(!ra_msg_timestamp_ok("2026-01-01T00:00:00.Z"));
    RS_CHECK(!ra_msg_timestamp_ok("yesterday"));
}

static void test_build_parse(void)
{
    char topic[RA_MSG_MAX_TOPIC];
    RS_CHECK(ra_msg_station_ok("cell-1.a_B"));
    RS_CHECK(!ra_msg_station_ok("") && !ra_msg_station_ok("a b") && !ra_msg_station_ok("a/b"));
    char long_id[80];
    memset(long_id, 'x', 64);
    long_id[64] = '\0';
    RS_CHECK(!ra_msg_station_ok(long_id));
    long_id[63] = '\0';
    RS_CHECK(ra_msg_station_ok(long_id));
    RS_CHECK(ra_msg_topic(RA_MSG_HEARTBEAT, long_id, topic, sizeof topic) == RV_OK);

    size_t len = 0;
    ra_msg_info_t info;
    char *m = ra_msg_heartbeat("st-1", 3, 42, NULL, &len);
    RS_CHECK(m && len == strlen(m));
    RS_CHECK(ra_msg_topic(RA_MSG_HEARTBEAT, "st-1", topic, sizeof topic) == RV_OK);
    RS_CHECK(strcmp(topic, "reman.heartbeat.st-1") == 0);
    RS_CHECK(ra_msg_parse(topic, strlen(topic), m, len, &info) == RV_OK);
    RS_CHECK(info.kind == RA_MSG_HEARTBEAT && info.session == 3 && info.seq == 42 &&
             !strcmp(info.station, "st-1"));
    RS_CHECK_EQ(info.upgrades_waiting, -1); /* not said */
    /* the upgrade requests waiting at the station ride on the heartbeat */
    size_t wlen = 0;
    char *w = ra_msg_heartbeat_waiting("st-1", 3, 42, NULL, 2, &wlen);
    RS_CHECK(w && strstr(w, "\"upgrades_waiting\":2"));
    RS_CHECK(w && ra_msg_parse(topic, strlen(topic), w, wlen, &info) == RV_OK &&
             info.upgrades_waiting == 2);
    free(w);
    const char *neg = "{\"schema\":\"reman.heartbeat/1\",\"seq\":1,\"session\":1,"
                      "\"station\":\"st-1\",\"ts\":\"2026-01-02T03:04:05Z\","
                      "\"upgrades_waiting\":-3}";
    RS_CHECK(ra_msg_parse(topic, strlen(topic), neg, strlen(neg), &info) != RV_OK);
    RS_CHECK_MSG(rv_last_error(), "upgrades_waiting");
    /* the topic decides the kind and the station */
    RS_CHECK(ra_msg_parse("reman.death.st-1", 16, m, len, &info) != RV_OK);
    RS_CHECK_MSG(rv_last_error(), "schema");
    RS_CHECK(ra_msg_parse("reman.heartbeat.st-2", 20, m, len, &info) != RV_OK);
    RS_CHECK_MSG(rv_last_error(), "station");
    RS_CHECK(ra_msg_parse("reman.heartbeat.", 16, m, len, &info) != RV_OK);
    RS_CHECK(ra_msg_parse("reman.heartbeat", 15, m, len, &info) != RV_OK);
    RS_CHECK(ra_msg_parse("reman.heartbeat.st-1\0", 21, m, len, &info) != RV_OK);
    free(m);

    m = ra_msg_birth("st-1", 4, 7, "2026-01-02T03:04:05.006Z", "reman-station 1.0",
                     "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
                     "tcp://127.0.0.1:5557", &len);
    RS_CHECK(m != NULL);
    RS_CHECK(m && ra_msg_parse("reman.birth.st-1", 16, m, len, &info) == RV_OK);
    RS_CHECK(info.kind == RA_MSG_BIRTH && info.seq == 7 && info.session == 4 &&
             !strcmp(info.replay, "tcp://127.0.0.1:5557") &&
             !strcmp(info.ts, "2026-01-02T03:04:05.006Z") &&
             !strncmp(info.public_key, "0011", 4));
    free(m);
    m = ra_msg_birth("st-1", 4, 7, NULL, "x", "short", "", &len);
    RS_CHECK(m && ra_msg_parse("reman.birth.st-1", 16, m, len, &info) != RV_OK);
    free(m);
    m = ra_msg_death("st-1", 4, 9, NULL, &len);
    RS_CHECK(m && ra_msg_parse("reman.death.st-1", 16, m, len, &info) == RV_OK &&
             info.kind == RA_MSG_DEATH && info.seq == 9);
    free(m);
    RS_CHECK(ra_msg_heartbeat("bad id", 1, 1, NULL, &len) == NULL);
    RS_CHECK(ra_msg_heartbeat("st-1", -1, 1, NULL, &len) == NULL);

    /* replay request and end */
    uint64_t since = 99;
    m = ra_msg_replay_request("st-1", 12, &len);
    RS_CHECK(m && ra_msg_replay_parse(m, len, "st-1", &since) == RV_OK && since == 12);
    RS_CHECK(m && ra_msg_replay_parse(m, len, "st-2", &since) != RV_OK);
    free(m);
    RS_CHECK(ra_msg_replay_parse("{\"op\":\"replay\",\"station\":\"st-1\",\"since\":-1}", 43,
                                 "st-1", &since) != RV_OK);
    RS_CHECK_MSG(rv_last_error(), "since");
    char big[RA_MSG_MAX_REQUEST + 2];
    memset(big, ' ', sizeof big);
    RS_CHECK(ra_msg_replay_parse(big, sizeof big, "st-1", &since) == RV_ELIMIT);
    ra_msg_end_t end;
    m = ra_msg_replay_end(1000, 1, &len);
    RS_CHECK(m && ra_msg_end_parse(m, len, &end) == RV_OK && !end.error && end.last == 1000 &&
             end.more == 1);
    free(m);
    m = ra_msg_error("bad \x01 thing \xff", &len);
    RS_CHECK(m && ra_msg_end_parse(m, len, &end) == RV_OK && end.error &&
             !strcmp(end.reason, "bad ? thing ?"));
    free(m);
    RS_CHECK(ra_msg_end_parse("{\"op\":\"end\",\"last\":1}", 21, &end) != RV_OK);
    RS_CHECK(ra_msg_end_parse("{\"op\":\"end\",\"last\":1,\"more\":1}", 30, &end) != RV_OK);
}

static void test_verify(void)
{
    char dir[128];
    RS_CHECK(lf_tmpdir(dir, sizeof dir, "msg") == 0);
    ra_store_t *store = ra_store_open(dir, "msg-1", RA_STORE_WRITE);
    RS_CHECK(store != NULL);
    if (!store)
        return;
    const char *key = ra_store_public_key(store);
    uint64_t last = lf_decide_n(store, NULL, 0, 3);
    RS_CHECK_EQ(last, 3);
    /* two in one transaction: consecutive records, chained to each other */
    json_t *i1 = lf_inspection(10), *i2 = lf_inspection(11);
    int64_t n1 = 0, n2 = 0;
    RS_CHECK(ra_store_inspection(store, i1, &n1) == RV_OK);
    RS_CHECK(ra_store_inspection(store, i2, &n2) == RV_OK);
    json_decref(i1);
    json_decref(i2);
    ra_decision_in_t in[2];
    memset(in, 0, sizeof in);
    in[0].inspection = n1;
    in[0].operator_id = "cell";
    in[1].inspection = n2;
    in[1].operator_id = "cell";
    ra_decision_ack_t acks[2];
    RS_CHECK(ra_store_decide_many(store, in, 2, acks) == RV_OK);
    char *msg[6] = {0};
    size_t len[6] = {0};
    ra_msg_chain_t chain[6];
    char topic[RA_MSG_MAX_TOPIC];
    ra_msg_topic(RA_MSG_DECISION, "msg-1", topic, sizeof topic);
    for (int s = 1; s <= 5; s++) {
        RS_CHECK(ra_store_message(store, (uint64_t) s, &msg[s], &len[s]) == RV_OK);
        if (!msg[s])
            continue;
        ra_msg_info_t info;
        RS_CHECKF(ra_msg_parse(topic, strlen(topic), msg[s], len[s], &info) == RV_OK,
                  "seq %d: %s", s, rv_last_error());
        RS_CHECK_EQ(info.seq, s);
        RS_CHECKF(ra_msg_decision_verify(msg[s], len[s], key, NULL, &chain[s]) == RV_OK,
                  "seq %d: %s", s, rv_last_error());
        RS_CHECK_EQ(info.chain_n, chain[s].n);
    }
    if (!msg[4] || !msg[5])
        goto done;
    /* the chain between consecutive records */
    RS_CHECK_EQ(chain[5].n, chain[4].n + 1);
    RS_CHECK(ra_msg_decision_verify(msg[5], len[5], key, chain[4].hash, NULL) == RV_OK);
    RS_CHECK(ra_msg_decision_verify(msg[5], len[5], key, chain[3].hash, NULL) != RV_OK);
    RS_CHECK_MSG(rv_last_error(), "chain broken");
    /* a wrong key */
    char other[65];
    snprintf(other, sizeof other, "%s", key);
    other[0] = other[0] == 'a' ? 'b' : 'a';
    RS_CHECK(ra_msg_decision_verify(msg[4], len[4], other, NULL, NULL) != RV_OK);
    RS_CHECK_MSG(rv_last_error(), "signature");
    /* every byte of the signed part matters: change one inside the route */
    char *t = strdup(msg[4]);
    char *route = strstr(t, "\"route\":\"");
    RS_CHECK(route != NULL);
    if (route) {
        route[9] = route[9] == 'x' ? 'y' : 'x';
        RS_CHECK(ra_msg_decision_verify(t, len[4], key, NULL, NULL) != RV_OK);
        RS_CHECK_MSG(rv_last_error(), "hash does not match");
    }
    free(t);
    /* a changed signature */
    t = strdup(msg[4]);
    char *sig = strstr(t, "\"sig\":\"");
    if (sig) {
        sig[7] = sig[7] == '0' ? '1' : '0';
        RS_CHECK(ra_msg_decision_verify(t, len[4], key, NULL, NULL) != RV_OK);
    }
    free(t);
    /* the chain member moved off the end, a member added after it, duplicate members */
    size_t l4 = len[4];
    char *moved = malloc(l4 + 64);
    snprintf(moved, l4 + 64, "%.*s,\"x\":1}", (int) (l4 - 1), msg[4]);
    RS_CHECK(ra_msg_decision_verify(moved, strlen(moved), key, NULL, NULL) != RV_OK);
    RS_CHECK(ra_msg_parse(topic, strlen(topic), moved, strlen(moved), &(ra_msg_info_t){0}) !=
             RV_OK);
    snprintf(moved, l4 + 64, "{\"seq\":1,%s", msg[4] + 1);
    RS_CHECK(ra_msg_decision_verify(moved, strlen(moved), key, NULL, NULL) != RV_OK);
    RS_CHECK_MSG(rv_last_error(), "twice");
    free(moved);
    /* the chain member must be the last member of the top-level object: a copy of it as
     * the last member of a nested object, or as text inside a string, is not that */
    const char *cm = strstr(msg[4], ",\"chain\":");
    RS_CHECK(cm != NULL);
    if (cm) {
        size_t head = (size_t) (cm - msg[4]), clen = l4 - 1 - head; /* ,"chain":{...} */
        char *nested = malloc(l4 + clen + 64);
        /* {...,"chain":C,"z":{"a":1,"chain":C}} */
        snprintf(nested, l4 + clen + 64, "%.*s,\"z\":{\"a\":1%.*s}}", (int) (l4 - 1), msg[4],
                 (int) clen, cm);
        RS_CHECK(ra_msg_parse(topic, strlen(topic), nested, strlen(nested),
                              &(ra_msg_info_t){0}) != RV_OK);
        RS_CHECK(ra_msg_decision_verify(nested, strlen(nested), key, NULL, NULL) != RV_OK);
        /* {...,"chain":C,"z":"\",\"chain\":"} : the bytes of the key inside a string */
        snprintf(nested, l4 + clen + 64, "%.*s,\"z\":\"\\\",\\\"chain\\\":\"}",
                 (int) (l4 - 1), msg[4]);
        RS_CHECK(ra_msg_parse(topic, strlen(topic), nested, strlen(nested),
                              &(ra_msg_info_t){0}) != RV_OK);
        RS_CHECK_MSG(rv_last_error(), "last member");
        /* a space before the key: not the bytes the station signs around */
        snprintf(nested, l4 + clen + 64, "%.*s, %.*s}", (int) head, msg[4], (int) clen - 1, cm + 1);
        RS_CHECK(ra_msg_parse(topic, strlen(topic), nested, strlen(nested),
                              &(ra_msg_info_t){0}) != RV_OK);
        free(nested);
    }
    /* the same checks without parsing again (for a message already parsed) */
    RS_CHECK(ra_msg_decision_verify_parsed(msg[4], l4, key, NULL, NULL) == RV_OK);
    RS_CHECK(ra_msg_decision_verify_parsed(msg[5], len[5], key, chain[4].hash, NULL) == RV_OK);
    RS_CHECK(ra_msg_decision_verify_parsed(msg[5], len[5], key, chain[3].hash, NULL) != RV_OK);
    t = strdup(msg[4]);
    char *rt = strstr(t, "\"route\":\"");
    if (rt) {
        rt[9] = rt[9] == 'x' ? 'y' : 'x';
        RS_CHECK(ra_msg_decision_verify_parsed(t, l4, key, NULL, NULL) != RV_OK);
        RS_CHECK_MSG(rv_last_error(), "altered");
    }
    free(t);
    t = strdup(msg[4]);
    sig = strstr(t, "\"sig\":\"");
    if (sig) {
        sig[7] = sig[7] == '0' ? '1' : '0';
        RS_CHECK(ra_msg_decision_verify_parsed(t, l4, key, NULL, NULL) != RV_OK);
        RS_CHECK_MSG(rv_last_error(), "signature");
    }
    free(t);
    /* truncations never crash and never verify */
    for (size_t cut = 0; cut < l4; cut += 7) {
        RS_CHECK(ra_msg_decision_verify(msg[4], cut, key, NULL, NULL) != RV_OK);
        RS_CHECK(ra_msg_decision_verify_parsed(msg[4], cut, key, NULL, NULL) != RV_OK);
    }
done:
    for (int s = 1; s <= 5; s++)
        free(msg[s]);
    ra_store_close(&store);
    lf_rmrf(dir);
}

int main(void)
{
    test_time();
    test_build_parse();
    test_verify();
    return rs_test_end("test_msg");
}
