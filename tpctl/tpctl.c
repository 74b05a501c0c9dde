/* tpctl.c: the operator CLI: event logs, commands to running services, back office. */
#include <stdio.h>
#include <string.h>
#include "tpctl.h"

static void s_usage(FILE *f)
{
    fprintf(f,
            "usage: tpctl COMMAND ...\n"
            "\n"
            "Event logs (work on a running service's folder too):\n"
            "  tpctl log dump DIR [--from SEQ] [--to SEQ] [--stream ID] [--type TYPE]\n"
            "                [--vault DIR/vault]\n"
            "      every record as one JSON line, payload decoded by its type; personal\n"
            "      fields stay sealed (\"sealed:1:...\") unless the service's key store is\n"
            "      given, and read \"[erased]\" where their subject was erased\n"
            "  tpctl log verify DIR [--witnesses DIR...] [--keys KEYS]\n"
            "      checks the hash chain; exit 1 and the first bad seq on any damage; with\n"
            "      --witnesses, also against the signed heads of DIR's service that each\n"
            "      witness (a follower's log) recorded: a log rewritten, truncated or restored\n"
            "      from an older backup is named with the witness that contradicts it (exit 1;\n"
            "      2 when a witness cannot be read); --keys: the signatures must be by the\n"
            "      witness key in KEYS/<service>.pub\n"
            "  tpctl log stats DIR [--streams N]\n"
            "      counts per event type and the N largest streams (default 20), size, head,\n"
            "      and how far it has read each service it follows (its checkpoints)\n"
            "  tpctl log replay DIR [--service NAME] [--to-seq SEQ] [--to-time TIME]\n"
            "                  [--vault DIR/vault]\n"
            "      rebuilds the service's state from its log (up to a seq or a time:\n"
            "      RFC 3339 like 2026-11-26T12:00:00Z, or microseconds since the epoch)\n"
            "      and prints a summary; --vault DIR/vault opens the personal fields\n"
            "  tpctl log backup DIR DEST\n"
            "      a compacted copy of the log (and the service's secret.key, and its key store\n"
            "      vault/ when it has one, copied after the log) in the new folder DEST,\n"
            "      consistent while the service writes, verified before it is put in place;\n"
            "      prints its head (seq, hash), events, bytes and keys as one JSON line\n"
            "  tpctl log restore SRC DIR [--replace]\n"
            "      puts the log of SRC (a backup, with its key and key store) into the data\n"
            "      folder DIR after verifying it; refused while a service runs on DIR (naming\n"
            "      it) or when DIR holds a log, which --replace moves aside (with its key and\n"
            "      key store) to DIR.replaced-<time> (never deleted)\n"
            "  tpctl [-c CONFIG] log import DIR [--name NAME]\n"
            "      moves the log of the stopped service's folder DIR into its stream TP_<NAME>\n"
            "      on the config's JetStream cluster (js_servers, ...; for store = jetstream):\n"
            "      its keys, erasures and secret.key into the key stream first, then its\n"
            "      records, request results and checkpoints in groups as the service writes\n"
            "      them; NAME defaults to the log's service; refused unless the stream is\n"
            "      empty (so never appended twice, nor resumed) and for a local copy of a\n"
            "      stream; prints what was moved as one JSON line\n"
            "  tpctl [-c CONFIG] log export DIR [--name NAME] [--service SERVICE]\n"
            "      the reverse (for store = lmdb): the stream of NAME (default: DIR's last\n"
            "      name) into the new or empty folder DIR, every group checked as it is applied,\n"
            "      the log verified; the keys into DIR/vault (erasures erased), the secret\n"
            "      into DIR/secret.key; SERVICE: the service the log is kept for (default NAME;\n"
            "      an example instance -n alpha: example); on failure DIR is left as it was\n"
            "\n"
            "The configuration:\n"
            "  tpctl config defaults\n"
            "      every setting of every daemon with its default and meaning, as a config file\n"
            "  tpctl config check FILE\n"
            "      the verdict the daemons give at start: exit 0 ok, 2 refused (each refusal\n"
            "      with its line on stderr)\n"
            "\n"
                        "Keys (every socket is CURVE; the folder is the config's `keys`):\n"
            "  tpctl keys init | add-operator NAME | add-producer NAME | add-ident NAME |\n"
            "             add-service NAME | list | revoke STEM\n"
            "\n"
            "Commands to running services (endpoints from -c CONFIG, $TP_CONFIG or var/tp.cfg),\n"
            "sent with a key: --as-operator NAME, --as-producer NAME, --as-ident NAME (else\n"
            "tpctl/as_operator ... in the config, else the only key of that kind), --key STEM:\n"
            "  tpctl [-c CONFIG] [--as-operator NAME] call SERVICE COMMAND ['JSON']\n"
            "             [--role ROLE] [--as ACCOUNT]\n"
            "      any command or query, e.g. tpctl call order ListShops; the reply as JSON;\n"
            "      the role (the key to use) defaults to operator; customer, officer and\n"
            "      anonymous need --key gateway (what a key may do, not the role, decides)\n"
            "  tpctl [-c CONFIG] status SERVICE\n"
            "      the service's head sequence (readiness)\n"
            "\n"
            "Back office (an operator's key; the PostIdent feed with an ident- key). Each prints\n"
            "the reply\n"
            "as JSON; exit 0 ok, 1 refused or no answer, 2 bad usage; every one takes\n"
            "--request-id ID, so that a retry is answered without doing it twice:\n");
    tpctl_ops_usage(f, NULL);
    fprintf(f, "\nProducer facts (a producer- key; the reply as JSON, exit codes as above):\n");
    tpctl_produce_usage(f);
}

int main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
        s_usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    const char *config = NULL;
    /* global options: the config, and the key to send with */
    while (argc > 3 && argv[1][0] == '-') {
        if (strcmp(argv[1], "-c") == 0)
            config = argv[2];
        else if (tpctl_set_identity(argv[1], argv[2]) != 0)
            break;
        argc -= 2;
        argv += 2;
    }
    if (strcmp(argv[1], "keys") == 0)
        return tpctl_keys(argc - 1, argv + 1, config);
    if (strcmp(argv[1], "log") == 0)
        return tpctl_log(argc - 2, argv + 2, config);
    if (strcmp(argv[1], "config") == 0)
        return tpctl_config(argc - 2, argv + 2);
    if (strcmp(argv[1], "call") == 0)
        return tpctl_call(argc - 2, argv + 2, config);
    if (strcmp(argv[1], "status") == 0 && argc == 3)
        return tpctl_call_json(config, argv[2], "$status", NULL, "operator", NULL, NULL);
    if (tpctl_ops_group(argv[1]))
        return tpctl_ops(argc - 1, argv + 1, config);
    if (strcmp(argv[1], "produce") == 0)
        return tpctl_produce(argc - 1, argv + 1, config);
    fprintf(stderr, "tpctl: unknown command '%s'\n", argv[1]);
    s_usage(stderr);
    return 2;
}
