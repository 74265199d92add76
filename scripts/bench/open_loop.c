// An open-loop load generator for one request sent again and again, over HTTP/1.1 or Redis's protocol, at a fixed
// offered rate: request i is due at start + i / rate on connection i % connections, whether or not the server has
// kept up, and its latency runs from when it was due (as wrk2 does), so a stalled server is not let off by a load
// generator that waits for it. One request at a time on a connection (no pipelining, as wrk and redis-benchmark by
// default); a request that falls due while its connection waits for an answer goes out when the answer comes. Each
// connection is opened and answered once before the schedule starts (as wrk2 leaves its calibration out of its
// figures): the figures are of requests on open connections, not of opening them.
//
//   cc -O2 -o open_loop scripts/bench/open_loop.c
//   open_loop PROTOCOL HOST PORT CONNECTIONS RATE SECONDS REQUEST_FILE
//
// PROTOCOL is http (answers framed by Content-Length) or resp (a bulk string or an array of bulk strings). Prints
// one line of JSON: requests, answers, errors (HTTP statuses other than 200, Redis errors), the achieved rate, and
// latency percentiles in microseconds, twice: from when each request was due (`p50_us`, …: what a client on this
// schedule waits), and from when it was written (`sent_p50_us`, …: the server's answer time alone, as a capture on
// the wire would see it but for this process's own wake-ups, without the wait of a request that fell due behind a
// late answer on its connection). Used by redis_bench.py; neither wrk2 nor memtier_benchmark is packaged in Debian.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum { HISTOGRAM_BUCKETS = 64 * 32, BUFFER_BYTES = 1 << 20 };

typedef struct {
    int fd;
    uint64_t next;        // index of the next request this connection sends
    int waiting;          // an answer is outstanding
    uint64_t due_ns;      // when the outstanding request was due
    uint64_t sent_ns;     // when it was written
    char *buffer;         // bytes of answers not yet consumed
    size_t filled;
} Connection;

typedef struct {
    uint64_t counts[HISTOGRAM_BUCKETS];
    uint64_t max_ns;
} Histogram;

// Latencies from when each request was due, and from when it was written.
static Histogram from_due, from_sent;

static uint64_t now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

// Log-linear buckets: 32 a power of two, so a percentile is within ~3% of the latency it stands for.
static int bucket_of(uint64_t ns) {
    uint64_t us = ns / 1000;
    if (us < 32) return (int)us;
    int power = 63 - __builtin_clzll(us);
    int index = (power - 4) * 32 + (int)((us >> (power - 5)) & 31);
    return index < HISTOGRAM_BUCKETS ? index : HISTOGRAM_BUCKETS - 1;
}

static double bucket_floor_us(int index) {
    if (index < 32) return index;
    int power = index / 32 + 4;
    return (double)((32u + (unsigned)(index % 32)) << (power - 5));
}

static void record(Histogram *histogram, uint64_t ns) {
    histogram->counts[bucket_of(ns)]++;
    if (ns > histogram->max_ns) histogram->max_ns = ns;
}

static double percentile_us(const Histogram *histogram, uint64_t count, double p) {
    uint64_t rank = (uint64_t)(p / 100.0 * (double)count), seen = 0;
    for (int i = 0; i < HISTOGRAM_BUCKETS; i++) {
        seen += histogram->counts[i];
        if (seen > rank) return bucket_floor_us(i);
    }
    return histogram->max_ns / 1000.0;
}

// `"PREFIXp50_us": …, …` for the latencies of `histogram`.
static void print_percentiles(const char *prefix, const Histogram *histogram, uint64_t count) {
    printf("\"%sp50_us\": %.0f, \"%sp90_us\": %.0f, \"%sp99_us\": %.0f, \"%sp999_us\": %.0f, \"%smax_us\": %.0f",
           prefix, percentile_us(histogram, count, 50), prefix, percentile_us(histogram, count, 90), prefix,
           percentile_us(histogram, count, 99), prefix, percentile_us(histogram, count, 99.9), prefix,
           histogram->max_ns / 1000.0);
}

static void fail(const char *what) {
    fprintf(stderr, "open_loop: %s: %s\n", what, strerror(errno));
    exit(2);
}

// The length of the first complete answer in `bytes`, 0 if more bytes are needed, -1 if they are not an answer.
// `*error` says whether the answer is an error (a status other than 200, a Redis error).
static long answer_length(int http, const char *bytes, size_t count, int *error) {
    if (http) {
        const char *end = memmem(bytes, count, "\r\n\r\n", 4);
        if (!end) return 0;
        if (count < 12 || memcmp(bytes, "HTTP/1.1 ", 9) != 0) return -1;
        *error = memcmp(bytes + 9, "200", 3) != 0;
        size_t head = (size_t)(end - bytes) + 4;
        long body = 0;
        for (const char *line = bytes; line && line < end;) {
            if (strncasecmp(line, "content-length:", 15) == 0) body = strtol(line + 15, NULL, 10);
            line = memchr(line, '\n', (size_t)(end - line));
            if (line) line++;
        }
        return head + (size_t)body <= count ? (long)(head + (size_t)body) : 0;
    }
    // RESP: `$N\r\n` N bytes `\r\n`, `$-1\r\n`, `*K\r\n` then K bulk strings, `-ERR …\r\n`.
    size_t at = 0;
    long items = 1;
    if (count < 1) return 0;
    if (bytes[0] == '-') {
        const char *end = memmem(bytes, count, "\r\n", 2);
        *error = 1;
        return end ? (long)(end - bytes) + 2 : 0;
    }
    if (bytes[0] == '*') {
        const char *end = memmem(bytes, count, "\r\n", 2);
        if (!end) return 0;
        items = strtol(bytes + 1, NULL, 10);
        at = (size_t)(end - bytes) + 2;
    }
    *error = 0;
    for (long i = 0; i < items; i++) {
        if (at >= count) return 0;
        if (bytes[at] != '$') return -1;
        const char *end = memmem(bytes + at, count - at, "\r\n", 2);
        if (!end) return 0;
        long length = strtol(bytes + at + 1, NULL, 10);
        at = (size_t)(end - bytes) + 2;
        if (length >= 0) at += (size_t)length + 2;
    }
    return at <= count ? (long)at : 0;
}

// Sends the request once on a new, still blocking connection and reads its answer, which no figure counts: a trainer's
// connections are open and in use before it times anything, and opening one costs a server more than answering on it.
static void warm_up(Connection *connection, int http, const char *request, size_t request_bytes) {
    if (write(connection->fd, request, request_bytes) != (ssize_t)request_bytes) fail("write (warming up)");
    for (;;) {
        ssize_t got = read(connection->fd, connection->buffer + connection->filled, BUFFER_BYTES - connection->filled);
        if (got <= 0) fail("read (warming up)");
        connection->filled += (size_t)got;
        int error = 0;
        long length = answer_length(http, connection->buffer, connection->filled, &error);
        if (length < 0 || error) {
            fprintf(stderr, "open_loop: the first answer is %s\n", error ? "an error" : "not of the protocol asked for");
            exit(1);
        }
        if (length > 0) break;
    }
    connection->filled = 0;
}

int main(int argc, char **argv) {
    if (argc != 8) {
        fprintf(stderr, "usage: open_loop http|resp HOST PORT CONNECTIONS RATE SECONDS REQUEST_FILE\n");
        return 2;
    }
    int http = strcmp(argv[1], "http") == 0;
    int connections = atoi(argv[4]);
    double rate = atof(argv[5]);
    double seconds = atof(argv[6]);
    if (connections < 1 || connections > 4096 || rate <= 0 || seconds <= 0) {
        fprintf(stderr, "open_loop: connections 1-4096, rate and seconds > 0\n");
        return 2;
    }
    FILE *file = fopen(argv[7], "rb");
    if (!file) fail(argv[7]);
    static char request[1 << 16];
    size_t request_bytes = fread(request, 1, sizeof request, file);
    if (!feof(file) || request_bytes == 0) {
        fprintf(stderr, "open_loop: %s: expected one request of 1 to %zu bytes\n", argv[7], sizeof request - 1);
        return 2;
    }
    fclose(file);

    struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[3]))};
    if (inet_pton(AF_INET, argv[2], &address.sin_addr) != 1) fail("address");
    prctl(PR_SET_TIMERSLACK, 1UL);  // wake when a request is due, not up to 50 µs later
    int poller = epoll_create1(0);
    Connection *all = calloc((size_t)connections, sizeof *all);
    for (int c = 0; c < connections; c++) {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        if (fd < 0 || connect(fd, (struct sockaddr *)&address, sizeof address) != 0) fail("connect");
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        all[c] = (Connection){.fd = fd, .next = (uint64_t)c, .buffer = malloc(BUFFER_BYTES)};
        warm_up(&all[c], http, request, request_bytes);
        fcntl(fd, F_SETFL, O_NONBLOCK);
        struct epoll_event event = {.events = EPOLLIN, .data.u32 = (uint32_t)c};
        epoll_ctl(poller, EPOLL_CTL_ADD, fd, &event);
    }

    const double interval_ns = 1e9 / rate;
    const uint64_t total = (uint64_t)(rate * seconds);
    const uint64_t start = now_ns() + 1000000;
    uint64_t sent = 0, answered = 0, errors = 0;
    while (answered < sent || sent < total) {
        uint64_t now = now_ns(), wake = UINT64_MAX;
        for (int c = 0; c < connections; c++) {
            Connection *connection = &all[c];
            if (connection->waiting || connection->next >= total) continue;
            uint64_t due = start + (uint64_t)((double)connection->next * interval_ns);
            if (due > now) {
                if (due < wake) wake = due;
                continue;
            }
            ssize_t written = write(connection->fd, request, request_bytes);
            if (written != (ssize_t)request_bytes) fail("write (a request must go in one write)");
            connection->waiting = 1;
            connection->due_ns = due;
            connection->sent_ns = now_ns();
            connection->next += (uint64_t)connections;
            sent++;
        }
        struct epoll_event events[256];
        struct timespec timeout = {0, 0};
        if (wake != UINT64_MAX && wake > now) {
            uint64_t wait = wake - now;
            timeout = (struct timespec){(time_t)(wait / 1000000000u), (long)(wait % 1000000000u)};
        } else if (wake == UINT64_MAX) {
            timeout = (struct timespec){1, 0};
        }
        int ready = epoll_pwait2(poller, events, 256, &timeout, NULL);
        if (ready < 0 && errno != EINTR) fail("epoll_pwait2");
        for (int e = 0; e < ready; e++) {
            Connection *connection = &all[events[e].data.u32];
            for (;;) {
                ssize_t got = read(connection->fd, connection->buffer + connection->filled,
                                   BUFFER_BYTES - connection->filled);
                if (got == 0) {
                    fprintf(stderr, "open_loop: the server closed a connection\n");
                    return 1;
                }
                if (got < 0) {
                    if (errno == EAGAIN) break;
                    fail("read");
                }
                connection->filled += (size_t)got;
                int error = 0;
                long length = answer_length(http, connection->buffer, connection->filled, &error);
                if (length < 0) {
                    fprintf(stderr, "open_loop: not an answer of the protocol asked for\n");
                    return 1;
                }
                if (length == 0) continue;
                if (!connection->waiting || (size_t)length != connection->filled) {
                    fprintf(stderr, "open_loop: an answer nobody asked for\n");
                    return 1;
                }
                uint64_t answered_ns = now_ns();
                record(&from_due, answered_ns - connection->due_ns);
                record(&from_sent, answered_ns - connection->sent_ns);
                errors += (uint64_t)error;
                answered++;
                connection->waiting = 0;
                connection->filled = 0;
            }
        }
    }
    double elapsed = (double)(now_ns() - start) / 1e9;
    printf("{\"requests\": %llu, \"errors\": %llu, \"rate\": %.0f, ", (unsigned long long)answered,
           (unsigned long long)errors, (double)answered / elapsed);
    print_percentiles("", &from_due, answered);
    printf(", ");
    print_percentiles("sent_", &from_sent, answered);
    printf("}\n");
    return 0;
}
