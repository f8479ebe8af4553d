-- friday:no-transaction
-- Rename users.name to users.full_name, step 2 of 3 (expand): copy name into full_name for rows
-- written before step 1, 5,000 rows per transaction, so no transaction holds many row locks and
-- the sync trigger sees ordinary updates. Re-runnable: it only touches rows still missing full_name.
DO $$
DECLARE
  last_id bigint := 0;
  max_id bigint;
BEGIN
  SELECT coalesce(max(id), 0) INTO max_id FROM users;
  WHILE last_id < max_id LOOP
    UPDATE users SET full_name = name
     WHERE id > last_id AND id <= last_id + 5000 AND full_name IS NULL;
    last_id := last_id + 5000;
    COMMIT;
  END LOOP;
END
$$;
