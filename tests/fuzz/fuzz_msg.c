/* fuzz_msg.c - libFuzzer target for the line protocol's parsers (ra_msg.h): the replay
 * request parser, the line message parser (topic + JSON), the replay reply's end-frame
 * parser and the decision verifier (and its variant for a message already parsed, which
 * must agree with it), all without sockets. The first byte picks which;
 * for the line parser the topic is the bytes up to the first newline. Any crash, leak,
 * hang or sanitizer report is a bug; a refusal must say why; what is accepted must hold
 * the envelope's promises (a valid station id, numbers in range), and a message built by
 * ra_msg must parse back. Seeds: the messages in docs/protocol.md, one per file, with the
 * mode byte in front. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ra/ra_msg.h"
#include "rv/rv_error.h"

static const char s_key[] = "3b6a27bcceb6a42d62a3a8d02a6f0d73653215771de243a63ac048a18b59da29";

static void s_refused_with_reason(int rc)
{
    if (rc != RV_OK && rv_last_error()[0] == '\0')
        __builtin_trap(); /* a refusal must say why */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    int mode = data[0] % 5;
    const char *text = (const char *) data + 1;
    size_t len = size - 1;
    rv_clear_error();
    switch (mode) {
    case 0: {
        uint64_t since = 0;
        int rc = ra_msg_replay_parse(text, len, "st-1", &since);
        s_refused_with_reason(rc);
        if (rc == RV_OK && since > (uint64_t) INT64_MAX)
            __builtin_trap();
        break;
    }
    case 1: {
        const char *nl = memchr(text, '\n', len);
        size_t tlen = nl ? (size_t) (nl - text) : len;
        const char *msg = nl ? nl + 1 : text + len;
        size_t mlen = nl ? len - tlen - 1 : 0;
        ra_msg_info_t info;
        int rc = ra_msg_parse(text, tlen, msg, mlen, &info);
        s_refused_with_reason(rc);
        if (rc == RV_OK) {
            if (!ra_msg_station_ok(info.station) || info.session < 0 ||
                info.seq > (uint64_t) INT64_MAX || !ra_msg_timestamp_ok(info.ts))
                __builtin_trap();
            if (info.kind == RA_MSG_DECISION) {
                ra_msg_chain_t chain, chain2;
                rv_clear_error();
                int full = ra_msg_decision_verify(msg, mlen, s_key, NULL, &chain);
                s_refused_with_reason(full);
                /* what the collector runs on a message the subscriber parsed: the same
                 * verdict and the same chain, without parsing it again */
                rv_clear_error();
                int fast = ra_msg_decision_verify_parsed(msg, mlen, s_key, NULL, &chain2);
                s_refused_with_reason(fast);
                if ((full == RV_OK) != (fast == RV_OK) || chain.n != chain2.n ||
                    strcmp(chain.hash, chain2.hash) != 0 || strcmp(chain.sig, chain2.sig) != 0)
                    __builtin_trap();
            }
        }
        break;
    }
    case 2: {
        ra_msg_end_t end;
        int rc = ra_msg_end_parse(text, len, &end);
        s_refused_with_reason(rc);
        if (rc == RV_OK && end.reason[sizeof end.reason - 1] != '\0')
            __builtin_trap();
        break;
    }
    case 3: {
        ra_msg_chain_t chain;
        int rc = ra_msg_decision_verify(text, len, s_key, len > 64 ? text : NULL, &chain);
        s_refused_with_reason(rc);
        break;
    }
    default: {
        /* builders from fuzzed values must give what the parsers accept */
        uint64_t v = 0;
        for (size_t i = 0; i < len && i < 8; i++)
            v = v << 8 | (uint8_t) text[i];
        int64_t session = (int64_t) (v >> 1);
        uint64_t seq = v >> 1;
        char station[RA_MSG_MAX_ID] = "st-1";
        size_t n = 0;
        for (size_t i = 8; i < len && n + 1 < sizeof station; i++) {
            char c = text[i];
            if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.')
                station[n++] = c;
        }
        if (n)
            station[n] = '\0';
        size_t mlen = 0;
        char topic[RA_MSG_MAX_TOPIC];
        char *m = ra_msg_heartbeat(station, session, seq, NULL, &mlen);
        ra_msg_info_t info;
        if (!m || ra_msg_topic(RA_MSG_HEARTBEAT, station, topic, sizeof topic) != RV_OK ||
            ra_msg_parse(topic, strlen(topic), m, mlen, &info) != RV_OK || info.seq != seq ||
            info.session != session)
            __builtin_trap();
        free(m);
        m = ra_msg_replay_request(station, seq, &mlen);
        uint64_t since = 0;
        if (!m || ra_msg_replay_parse(m, mlen, station, &since) != RV_OK || since != seq)
            __builtin_trap();
        free(m);
        break;
    }
    }
    return 0;
}
