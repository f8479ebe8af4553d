-- Rename users.name to users.full_name, step 1 of 3 (expand): add the new column and keep the two
-- in sync on every write, so the release running now (writes name) and the next one (writes
-- full_name) both work. Step 2 backfills existing rows; step 3 (a contract, in a later release)
-- drops name once no running code uses it. Recipe: docs/runbooks/migrations.md "Rename a column".
ALTER TABLE users ADD COLUMN full_name text;

CREATE FUNCTION users_full_name_sync() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    NEW.full_name := coalesce(NEW.full_name, NEW.name);
    NEW.name := coalesce(NEW.name, NEW.full_name);
  ELSIF NEW.full_name IS DISTINCT FROM OLD.full_name THEN
    NEW.name := NEW.full_name;
  ELSIF NEW.name IS DISTINCT FROM OLD.name THEN
    NEW.full_name := NEW.name;
  END IF;
  RETURN NEW;
END
$$;

CREATE TRIGGER users_full_name_sync BEFORE INSERT OR UPDATE ON users
  FOR EACH ROW EXECUTE FUNCTION users_full_name_sync();
