/* tp_personal.c: the declaration of personal fields (tp_personal.h). */
#include <string.h>
#include "tp_personal.h"

#define P TP_PERSONAL
#define N TP_PLAIN
#define W TP_PERSONAL_WINDOW

const tp_personal_row_t tp_personal_table[] = {
    /* ---- personal: who a person is, where they live, how to reach them */
    {"email", P}, {"given_names", P}, {"family_name", P}, {"birth_date", P},
    {"birth_place", P}, {"nationality", P}, {"phone", P}, {"street", P},
    {"postal_code", P}, {"city", P}, {"country", P}, {"document_number", P},
    {"document_authority", P}, {"document_expiry", P}, {"applicant_name", P},
    {"applicant_birth_date", P}, {"tp.production.Certificate.subject", P},
    /* their credentials, and what proves their identification */
    {"password", P}, {"new_password", P}, {"revocation_password", P},
    {"password_hash", P}, {"revocation_password_hash", P}, {"session_token", P},
    {"token", P}, {"secret", P}, {"evidence_ref", P},
    /* what they or an operator wrote about them, and where they came from */
    {"comment", P}, {"caller", P}, {"caller_authentication", P},
    {"authentication_detail", P}, {"requested_by", P}, {"client_addr", P},
    /* client addresses kept for throttling only: gone with their window */
    {"tp.account.LoginFailed.client_addr", W},
    {"tp.account.ShopCodeRejected.client_addr", W},
    {"tp.revocation.RevocationAttemptFailed.client_addr", W},
    /* what a customer wrote about their own deletion */
    {"tp.account.AccountDeletionRequested.reason", P},
    {"tp.account.DeletionRequest.reason", P},

    /* ---- plain: ids (pseudonyms) */
    {"account_id", N}, {"order_id", N}, {"product_id", N}, {"shop_id", N},
    {"request_id", N}, {"case_id", N}, {"fact_id", N}, {"mail_id", N},
    {"shop_ids", N}, {"officer_shop_ids", N}, {"product_ids", N},
    {"card_product_id", N}, {"counter", N}, {"account", N},
    {"instance", N},
    /* codes, states, names of things */
    {"language", N}, {"status", N}, {"status_mails", N}, {"roles", N}, {"role", N},
    {"kind", N}, {"purpose", N}, {"refusal", N}, {"method", N}, {"ident_method", N},
    {"ident_methods", N}, {"extra_ident_methods", N}, {"product_type", N},
    {"document_type", N}, {"decision", N}, {"authenticated_by", N}, {"learned_from", N},
    {"job_status", N}, {"inactive_reason", N}, {"fields", N}, {"code", N},
    {"name", N}, {"name_de", N}, {"name_en", N}, {"external_url", N},
    {"shop_name", N}, {"file_name", N}, {"content_type", N}, {"upstream", N},
    {"register_court", N}, {"register_number", N},
    /* a representative's names are a person's, and the role next to them is not */
    {"tp.order.Representative.given_names", P}, {"tp.order.Representative.family_name", P},
    /* staff: who did what (the audit keeps it) */
    {"identified_by", N}, {"recorded_by", N}, {"recorded_by_role", N},
    {"recorded_by_account", N}, {"opened_by_account", N}, {"actor_account", N},
    {"actor_role", N},
    /* numbers of the production line and the mail carrier */
    {"postident_number", N}, {"tracking_number", N}, {"pin_tracking_number", N},
    {"card_number", N}, {"serial", N}, {"serials", N}, {"number", N},
    /* operators' notes and reasons: what is missing or wrong, never the data itself */
    {"reason", N}, {"note", N}, {"detail", N}, {"problem", N}, {"message", N},
    /* hashes, nonces and keys: of tokens and secrets (random), of codes and numbers that
     * are no one's personal data (shop codes, order numbers), or keyed with the service's
     * secret (email_hash) */
    {"token_nonce", N}, {"token_hash", N}, {"session_hash", N}, {"email_hash", N},
    {"code_hash", N}, {"number_hash", N}, {"secret_hash", N}, {"nonce", N},
    {"hash", N}, {"prev_hash", N}, {"head_hash", N}, {"key", N}, {"signature", N},
    /* the envelope and the bus: carriers of sealed payloads */
    {"stream_id", N}, {"event_type", N}, {"event_id", N}, {"correlation_id", N},
    {"causation_id", N}, {"payload", N}, {"actor", N}, {"command", N}, {"body", N},
    {"replies", N}, {"events", N}, {"service", N}, {"contradiction", N}, {"field", N},
    {"content", N}, {"subject", N}, {"subjects", N}, {NULL, N},
};

tp_personal_kind_t tp_personal_kind(const ProtobufCMessageDescriptor *m,
                                    const ProtobufCFieldDescriptor *f)
{
    size_t mlen = strlen(m->name);
    tp_personal_kind_t by_name = TP_UNDECLARED;
    for (const tp_personal_row_t *r = tp_personal_table; r->field; r++) {
        const char *dot = strrchr(r->field, '.');
        if (!dot) {
            if (strcmp(r->field, f->name) == 0)
                by_name = r->kind;
        }
        else if ((size_t) (dot - r->field) == mlen && strncmp(r->field, m->name, mlen) == 0 &&
                 strcmp(dot + 1, f->name) == 0)
            return r->kind;   /* the qualified row wins */
    }
    return by_name;
}

static int s_any(const ProtobufCMessageDescriptor *m, int depth)
{
    if (depth > 8)
        return 0;
    for (unsigned i = 0; i < m->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &m->fields[i];
        if (f->type == PROTOBUF_C_TYPE_STRING && tp_personal_kind(m, f) > TP_PLAIN)
            return 1;
        if (f->type == PROTOBUF_C_TYPE_MESSAGE && s_any(f->descriptor, depth + 1))
            return 1;
    }
    return 0;
}

int tp_personal_any(const ProtobufCMessageDescriptor *m)
{
    return s_any(m, 0);
}
