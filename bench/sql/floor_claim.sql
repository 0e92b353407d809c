-- Floor of "reveal": the statements POST /api/v1/secrets/<id>/reveal issues for a secret
-- without a passphrase, each in autocommit: read the row, then claim it with a
-- compare-and-set UPDATE (the app decrypts in between). Each client takes its own rows of
-- a pre-inserted pool (id = md5(index)), each once: :k counts per client.
\set k :k + 1
\set idx :base + :k * :nclients + :client_id
SELECT "secrets"."id", "secrets"."state", "secrets"."ciphertext", "secrets"."passphrase_required", "secrets"."expires_at" FROM "secrets" WHERE "secrets"."id" = md5(:idx::text)::uuid ORDER BY "secrets"."id" ASC LIMIT 1;
UPDATE "secrets" SET "state" = 'revealed', "ciphertext" = NULL, "ended_at" = now() WHERE ("secrets"."expires_at" > now() AND "secrets"."id" = md5(:idx::text)::uuid AND "secrets"."state" = 'active');
