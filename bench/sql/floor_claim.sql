-- Floor of "reveal": the statements POST /api/v1/secrets/<id>/reveal issues for a secret
-- without a passphrase: one read (no lock; it answers 404/410 by itself), then the claim in
-- a transaction: one UPDATE that locks the row, wipes it and returns the old ciphertext (the
-- app decrypts before COMMIT). Each client takes its own rows of a pre-inserted pool
-- (id = md5(index)), each once: :k counts per client.
\set k :k + 1
\set idx :base + :k * :nclients + :client_id
SELECT "secrets"."id", "secrets"."state", "secrets"."passphrase_required", "secrets"."telegram_recipient", "secrets"."notify_chat_id", "secrets"."key_check", "secrets"."expires_at", "secrets"."ended_at" FROM "secrets" WHERE "secrets"."id" = md5(:idx::text)::uuid ORDER BY "secrets"."id" ASC LIMIT 1;
BEGIN;
UPDATE secrets SET state = 'revealed', ciphertext = NULL, ended_at = now() FROM ( SELECT id, ciphertext, notify_chat_id FROM secrets WHERE id = md5(:idx::text)::uuid AND state = 'active' AND expires_at > now() FOR UPDATE ) AS claimed WHERE secrets.id = claimed.id RETURNING claimed.ciphertext, claimed.notify_chat_id;
COMMIT;
