-- Users of the reference service. Emails are unique case-insensitively.
CREATE TABLE users (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  email text NOT NULL,
  name text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT users_email_length CHECK (length(email) <= 320)
);

CREATE UNIQUE INDEX users_email_key ON users (lower(email));
