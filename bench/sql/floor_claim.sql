-- Floor of "reveal": the claim that POST /api/v1/secrets/<id>/reveal issues, in one
-- transaction: lock the row, then wipe it with a compare-and-set UPDATE. Each client takes
-- its own rows of a pre-inserted pool (id = md5(index)), each once: :k counts per client.
\set k :k + 1
\set idx :base + :k * :nclients + :client_id
BEGIN;
SELECT "secrets"."id", "secrets"."state", "secrets"."ciphertext", "secrets"."passphrase_required", "secrets"."failed_attempts", "secrets"."receipt_hash", "secrets"."created_at", "secrets"."expires_at", "secrets"."ended_at" FROM "secrets" WHERE "secrets"."id" = md5(:idx::text)::uuid ORDER BY "secrets"."id" ASC LIMIT 1 FOR UPDATE;
UPDATE "secrets" SET "state" = 'revealed', "ciphertext" = NULL, "ended_at" = now() WHERE ("secrets"."id" = md5(:idx::text)::uuid AND "secrets"."state" = 'active');
COMMIT;
