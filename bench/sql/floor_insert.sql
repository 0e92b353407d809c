-- Floor of "create": the INSERT that POST /api/v1/secrets issues (autocommit), with a
-- ciphertext of the same size (62 bytes for the 28-byte bench secret).
INSERT INTO "secrets" ("id", "state", "ciphertext", "passphrase_required", "failed_attempts", "receipt_hash", "created_at", "expires_at", "ended_at") VALUES (gen_random_uuid(), 'active', '\x0101020304000102030405060708090a0b00636f727265637420686f727365206261747465727920737461706c65000102030405060708090a0b0c0d0e0f'::bytea, false, 0, md5(random()::text) || md5(random()::text), now(), now() + interval '1 hour', NULL);
