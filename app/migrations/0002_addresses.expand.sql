-- Postal addresses; a user has any number of them.
CREATE TABLE addresses (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  user_id bigint NOT NULL REFERENCES users (id),
  line1 text NOT NULL,
  line2 text,
  city text NOT NULL,
  postal_code text NOT NULL,
  country text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT addresses_country_iso CHECK (country ~ '^[A-Z]{2}$')
);

CREATE INDEX addresses_user_id_idx ON addresses (user_id);
