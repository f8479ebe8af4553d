-- friday:contract-of 0006_users_full_name
-- Rename users.name to users.full_name, step 3 of 3 (contract): ships in a release after the one
-- that ran 0006/0007 and moved the code to full_name, so no running code reads or writes name.
DROP TRIGGER users_full_name_sync ON users;
DROP FUNCTION users_full_name_sync();
ALTER TABLE users DROP COLUMN name;
