-- Floor of the create+reveal cycle: the INSERT, then the claim of that same row.
\set k :k + 1
\set idx :base + :k * :nclients + :client_id
INSERT INTO "secrets" ("id", "state", "ciphertext", "passphrase_required", "failed_attempts", "telegram_recipient", "recipient_username", "recipient_id", "failed_codes", "notify_chat_id", "key_check", "deletable_by_viewer", "receipt_hash", "created_at", "expires_at", "ended_at") VALUES (md5(:idx::text)::uuid, 'active', '\x0101020304000102030405060708090a0b00636f727265637420686f727365206261747465727920737461706c65000102030405060708090a0b0c0d0e0f'::bytea, false, 0, '', NULL, NULL, 0, NULL, '', false, md5(random()::text) || md5(random()::text), now(), now() + interval '1 hour', NULL);
SELECT "secrets"."id", "secrets"."state", "secrets"."passphrase_required", "secrets"."telegram_recipient", "secrets"."notify_chat_id", "secrets"."key_check", "secrets"."expires_at", "secrets"."ended_at" FROM "secrets" WHERE "secrets"."id" = md5(:idx::text)::uuid ORDER BY "secrets"."id" ASC LIMIT 1;
BEGIN;
UPDATE secrets SET state = 'revealed', ciphertext = NULL, ended_at = now() FROM ( SELECT id, ciphertext, notify_chat_id FROM secrets WHERE id = md5(:idx::text)::uuid AND state = 'active' AND expires_at > now() FOR UPDATE ) AS claimed WHERE secrets.id = claimed.id RETURNING claimed.ciphertext, claimed.notify_chat_id;
COMMIT;
