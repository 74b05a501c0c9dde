/* svc_settings.h: the settings of every daemon as tables (key, default, kind, range,
 * help), and the one loader that refuses a config holding a setting no table knows or
 * a value out of its range, with the file's line number.
 *
 * Like nginx's command tables, a setting that is not in a table is an error, never
 * silently ignored: a misspelt `cookie_secure` would otherwise leave the safety setting
 * at whatever the default is, and a misspelt `processing_delay_s` would leave a delay
 * the operator meant to change.
 *
 * The tables:
 *   - the runtime's (svc_settings_runtime): what every service reads (batch_max, tick_ms,
 *     data, run, upstreams, smtp_*, the producers' endpoint, ...);
 *   - each service's own (svc_def_t.settings): base_url, activation_delay_s, ...;
 *   - the gateway's (gw_settings, in gateway/gw_config.c).
 *
 * The file (ZPL, one for the whole system) has a root and sections; a section is a
 * level-0 name without `=`, its settings are indented by 4 spaces beneath it.
 *
 *   Root       only the runtime's settings (SVC_SETTING_SECTION ones excepted): every
 *              service reads them, and every daemon knows the runtime's table, so every
 *              daemon judges the root alike. A service's own settings and the
 *              gateway's go in their sections.
 *   Sections   a section is one daemon's: a service's bears its instance name (its own
 *              name, e.g. `order`, or the one it is started with, `-n alpha`), the
 *              gateway's is `gateway`.
 *              - In the section of a daemon the loader knows (svc_settings_daemon_t:
 *                a service knows itself, the gateway itself, tpctl every daemon by its
 *                own name), every key must be in that daemon's table or, for a
 *                service, in the runtime's (SVC_SETTING_ROOT ones excepted).
 *              - In any other section the runtime's keys are checked all the same
 *                (every daemon knows them). A key the loader does not know there is
 *                another daemon's: a daemon leaves it to that one, which refuses it
 *                when it starts; tpctl, which knows every daemon
 *                (SVC_SETTINGS_COMPLETE), refuses it unless a service's own table has it.
 *              So a section named like no daemon is taken for an instance (of the
 *              example service, `alpha` in the tests, or of any service under another
 *              name): accepted when it holds only keys some service knows, and judged
 *              in full by the daemon started with that name. The price: a misspelt
 *              section name that holds only services' keys reads as an instance, and
 *              the service it was meant for runs with its defaults.
 *   Also       a section or a setting given twice is refused (zconfig reads only the
 *              first); so is a setting indented under another setting, and a file
 *              that is not ZPL (with the line where it stops being so).
 *
 * Reading a value stays with the code that uses it (svc_config_get, svc_setting_get);
 * a key it reads must be in a table with the default it uses (tests/integration/
 * settings.c checks the sources and deploy/trustportal.cfg against the tables, which
 * `tpctl config defaults` prints).
 */
#ifndef SVC_SETTINGS_H
#define SVC_SETTINGS_H

#include <czmq.h>
#include <stdbool.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/** What a value must look like. */
typedef enum {
    SVC_SETTING_INT = 1,   /**< a whole number (decimal) within [min, max] */
    SVC_SETTING_NUMBER,    /**< a decimal number, fractions allowed, within [min, max] */
    SVC_SETTING_BOOL,      /**< 0 or 1 */
    SVC_SETTING_STRING,    /**< any text (one of `choices` when those are given) */
    SVC_SETTING_ENDPOINT,  /**< a ZeroMQ endpoint: tcp://, ipc:// or inproc:// */
    SVC_SETTING_ENDPOINTS, /**< one or more of them, separated by commas */
    SVC_SETTING_PATH,      /**< a file or folder */
    SVC_SETTING_LIST       /**< names separated by commas (or spaces): a-z, 0-9, _ . - @ */
} svc_setting_kind_t;

/** Where a setting may stand (svc_setting_t.where). */
#define SVC_SETTING_ANYWHERE 0 /**< at the root, and in a section where it overrides it */
#define SVC_SETTING_ROOT     1 /**< at the root only (one for the whole system: run) */
#define SVC_SETTING_SECTION  2 /**< in a section only (one per daemon: pub, upstreams) */

/** One setting. A table is an array ended by an entry whose key is NULL. */
typedef struct {
    const char *key;
    const char *dflt; /**< the default as written in the file; NULL: none (the
                           help says what happens then) */
    svc_setting_kind_t kind;
    double min, max;     /**< the range of INT and NUMBER values */
    const char *help;    /**< one or more lines ('\n'), printed as `#   ` comments */
    int where;           /**< SVC_SETTING_ANYWHERE, _ROOT or _SECTION */
    const char *choices; /**< STRING: the values allowed, "a|b|c"; NULL: any */
} svc_setting_t;

/** A number as the string a table's default is written as: SVC_SETTING_STR(120) "120". */
#define SVC_SETTING_STR_(x) #x
#define SVC_SETTING_STR(x)  SVC_SETTING_STR_(x)

/** The runtime's settings: what every service reads (see deploy/trustportal.cfg). */
extern const svc_setting_t svc_settings_runtime[];

/** A daemon the loader knows: the section it reads, and its own table. */
typedef struct {
    const char *section;           /**< its instance name: "order", "alpha", "gateway" */
    const svc_setting_t *settings; /**< its own table (NULL: none) */
    bool service;                  /**< a service: the runtime's table applies in its
                                        section too */
} svc_settings_daemon_t;

/** svc_settings_load flag: @p daemons lists every daemon of the system (tpctl), so a key
 *  none of them knows is refused in every section. */
#define SVC_SETTINGS_COMPLETE 1

/** @brief The setting @p key of @p table, or NULL. */
const svc_setting_t *svc_settings_find(const svc_setting_t *table, const char *key);

/**
 * @brief The loader: reads the ZPL file @p path and checks every setting in it against
 * the runtime's table and those of @p daemons, by the rules at the top of this file.
 * @param[in] daemons the daemons whose tables the caller knows (may be NULL when
 *            @p n_daemons is 0)
 * @param[in] flags 0 or SVC_SETTINGS_COMPLETE
 * @param[out] errors when not NULL and the file is refused: every refusal, one a line,
 *             "FILE:LINE: unknown setting 'cookie_secur' in section 'gateway'" (caller
 *             frees); NULL otherwise
 * @return the config (caller destroys), or NULL when the file cannot be read, is not ZPL,
 *         or holds a setting refused
 */
zconfig_t *svc_settings_load(const char *path, const svc_settings_daemon_t *daemons,
                             size_t n_daemons, int flags, char **errors);

/** @brief svc_settings_load(), every refusal logged with zsys_error (a daemon's start). */
zconfig_t *svc_settings_open(const char *path, const svc_settings_daemon_t *daemons,
                             size_t n_daemons, int flags);

/**
 * @brief The check a service daemon makes at start (svc_main): svc_settings_open() of
 * @p path as the one daemon @p name with the table @p own.
 * @return 0 when the file is accepted, else -1
 */
int svc_settings_check_service(const char *path, const char *name, const svc_setting_t *own);

/**
 * @brief A service's own setting: svc_config_get() with the default of @p table (the key
 * must be in it: a programmer's error otherwise).
 */
const char *svc_setting_get(zconfig_t *config, const char *name, const svc_setting_t *table,
                            const char *key);

/**
 * @brief Prints one setting as the defaults file shows it: its help as `#   ` comments
 * (and "At the root only." for such a setting), then `key = value`, commented out when
 * @p value is NULL; each line indented by @p indent spaces.
 */
void svc_settings_print(FILE *out, const svc_setting_t *setting, const char *value, int indent);

/** @brief Self-test; 0 when it passes. */
int svc_settings_test(bool verbose);

#ifdef __cplusplus
}
#endif
#endif
