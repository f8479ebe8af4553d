import { ClientBase } from "pg";

/**
 * A realistic shop schema with personal data in every shape the scrub handles (plain columns, a
 * unique email referenced by a foreign key, emails repeated across tables, dates, JSON documents,
 * a table to truncate), its rules, and a generator of rows. Used by the scrub/verify/suggest tests
 * (a few hundred rows) and by `npm run bench:scrub` (a million and more).
 */

export const FIXTURE_SCHEMA_SQL = `
CREATE TABLE users (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  email text NOT NULL UNIQUE,
  full_name text NOT NULL,
  phone text,
  date_of_birth date,
  password_hash text NOT NULL,
  bio text,
  signup_ip inet,
  created_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT users_email_length CHECK (length(email) <= 320)
);
CREATE UNIQUE INDEX users_email_lower_key ON users (lower(email));
CREATE TABLE addresses (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  user_id bigint NOT NULL REFERENCES users (id),
  recipient_name text NOT NULL,
  line1 text NOT NULL,
  line2 text,
  city text NOT NULL,
  postal_code varchar(10) NOT NULL,
  country char(2) NOT NULL,
  phone text
);
CREATE INDEX addresses_user_id_idx ON addresses (user_id);
CREATE TABLE orders (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  user_id bigint NOT NULL REFERENCES users (id),
  shipping_address_id bigint REFERENCES addresses (id),
  contact_email text NOT NULL,
  status text NOT NULL DEFAULT 'pending',
  total_cents bigint NOT NULL CHECK (total_cents >= 0),
  notes text,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX orders_user_id_created_at_idx ON orders (user_id, created_at);
CREATE INDEX orders_contact_email_idx ON orders (contact_email);
CREATE TABLE payments (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  order_id bigint NOT NULL REFERENCES orders (id),
  provider text NOT NULL,
  provider_reference text NOT NULL,
  card_last4 char(4),
  billing_name text,
  client_ip inet,
  amount_cents bigint NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX payments_provider_reference_key ON payments (provider, provider_reference);
CREATE INDEX payments_order_id_idx ON payments (order_id);
CREATE TABLE audit_log (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  occurred_at timestamptz NOT NULL DEFAULT now(),
  actor_user_id bigint,
  action text NOT NULL,
  payload jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX audit_log_occurred_at_idx ON audit_log USING brin (occurred_at);
CREATE TABLE sessions (
  id uuid PRIMARY KEY,
  user_id bigint NOT NULL REFERENCES users (id),
  user_agent text,
  expires_at timestamptz NOT NULL
);
CREATE TABLE newsletter_subscriptions (
  email text PRIMARY KEY REFERENCES users (email),
  subscribed_at timestamptz NOT NULL DEFAULT now()
);
`;

/** Rules covering every column of the fixture, using every strategy. */
export const FIXTURE_RULES_YAML = `
version: 1
emailDomain: scrubbed.invalid
tables:
  users:
    id: keep
    email: email
    full_name: name
    phone: phone
    date_of_birth: { strategy: shift, maxDays: 365 }
    password_hash: { strategy: fixed, value: "!" }
    bio: text
    signup_ip: "null"
    created_at: keep
  addresses:
    id: keep
    user_id: keep
    recipient_name: name
    line1: address
    line2: { strategy: address, part: line2 }
    city: { strategy: address, part: city }
    postal_code: { strategy: address, part: postcode }
    country: keep
    phone: phone
  orders:
    id: keep
    user_id: keep
    shipping_address_id: keep
    contact_email: email
    status: keep
    total_cents: keep
    notes: text
    created_at: { strategy: shift, maxDays: 30, by: user_id }
  payments:
    id: keep
    order_id: keep
    provider: keep
    provider_reference: hash
    card_last4: { strategy: fixed, value: "0000" }
    billing_name: name
    client_ip: { strategy: sql, expression: "CASE WHEN client_ip IS NULL THEN NULL ELSE '192.0.2.1'::inet END" }
    amount_cents: keep
    created_at: keep
  audit_log:
    id: keep
    occurred_at: keep
    actor_user_id: keep
    action: keep
    payload:
      strategy: json
      paths:
        actor.email: email
        actor.ip: "null"
        changes.full_name: name
        changes.phone: phone
  sessions: truncate
  newsletter_subscriptions:
    email: email
    subscribed_at: keep
`;

/** Rows per table for a given number of users. */
export function fixtureRowCounts(users: number): Record<string, number> {
  return {
    users,
    addresses: users,
    orders: 2 * users,
    payments: 2 * users,
    audit_log: 2 * users,
    sessions: Math.floor(users / 2),
    newsletter_subscriptions: Math.floor(users / 4),
  };
}

const FIRST = ["Maria", "James", "Sofia", "Liam", "Amelia", "Noah", "Olivia", "Lucas", "Emma", "Mateo", "Chloe", "Ethan", "Aisha", "Kenji", "Fatima", "Oskar"];
const LAST = ["Garcia", "Smith", "Müller", "Rossi", "Dubois", "Kowalski", "Nguyen", "O'Brien", "Silva", "Tanaka", "Jensen", "Novak", "Haddad", "Kim", "Larsen", "Moreau"];
const arr = (values: string[]) => `ARRAY[${values.map((v) => `'${v.replace(/'/g, "''")}'`).join(",")}]`;

/**
 * Fills the fixture with `users` users and proportional rows elsewhere, set-based (generate_series).
 * Emails are unique, appear again in orders.contact_email, newsletter_subscriptions and the audit
 * log's JSON, with a mix of upper/lower case.
 */
export async function fillFixture(client: ClientBase, users: number): Promise<void> {
  const n = fixtureRowCounts(users);
  const first = `(${arr(FIRST)})[1 + g % 16]`;
  const last = `(${arr(LAST)})[1 + (g / 16) % 16]`;
  const email = (g: string) => `lower((${arr(FIRST)})[1 + ${g} % 16]) || '.' || lower((${arr(LAST)})[1 + (${g} / 16) % 16]) || ${g} || '@' || (ARRAY['gmail.com','yahoo.com','outlook.com','proton.me'])[1 + ${g} % 4]`;
  await client.query(`
    INSERT INTO users (email, full_name, phone, date_of_birth, password_hash, bio, signup_ip, created_at)
    SELECT ${email("g")}, ${first} || ' ' || ${last},
           CASE WHEN g % 10 = 0 THEN NULL ELSE '+44 7700 ' || lpad((g % 1000000)::text, 6, '0') END,
           date '1950-01-01' + ((g::bigint * 7919) % 20000)::int,
           '$2b$12$' || md5(g::text) || md5((g + 1)::text),
           CASE WHEN g % 3 = 0 THEN NULL ELSE 'I live in ' || (ARRAY['Lisbon','Leeds','Lyon','Lund'])[1 + g % 4] || ' and love ' || repeat('hiking ', 1 + g % 20) END,
           ('10.' || (g % 250) || '.' || (g / 250 % 250) || '.' || (g % 200 + 1))::inet,
           timestamptz '2020-01-01' + (g || ' minutes')::interval
      FROM generate_series(1, ${n.users}) g`);
  await client.query(`
    INSERT INTO addresses (user_id, recipient_name, line1, line2, city, postal_code, country, phone)
    SELECT g, ${first} || ' ' || ${last}, (g % 200 + 1) || ' High Street', CASE WHEN g % 4 = 0 THEN 'Flat ' || (g % 30 + 1) END,
           (ARRAY['London','Manchester','Bristol','Glasgow','Cardiff','Belfast'])[1 + g % 6], 'SW' || (g % 20 + 1) || ' ' || (g % 9) || 'AB',
           'GB', CASE WHEN g % 5 = 0 THEN NULL ELSE '+44 20 7946 ' || lpad((g % 10000)::text, 4, '0') END
      FROM generate_series(1, ${n.addresses}) g`);
  await client.query(`
    INSERT INTO orders (user_id, shipping_address_id, contact_email, status, total_cents, notes, created_at)
    SELECT u, u, ${email("u")}, (ARRAY['pending','paid','shipped','cancelled'])[1 + g % 4], (g * 37) % 100000,
           CASE WHEN g % 5 = 0 THEN 'Please leave the parcel with ' || (${arr(FIRST)})[1 + g % 16] || ' next door' END,
           timestamptz '2021-01-01' + (g || ' minutes')::interval
      FROM generate_series(1, ${n.orders}) g, LATERAL (SELECT 1 + (g - 1) % ${users} AS u) x`);
  await client.query(`
    INSERT INTO payments (order_id, provider, provider_reference, card_last4, billing_name, client_ip, amount_cents, created_at)
    SELECT g, (ARRAY['stripe','adyen'])[1 + g % 2], 'ch_' || md5(g::text), lpad((g % 10000)::text, 4, '0'),
           ${first} || ' ' || ${last}, CASE WHEN g % 7 = 0 THEN NULL ELSE ('203.0.113.' || (g % 250 + 1))::inet END,
           1 + (g * 37) % 100000, timestamptz '2021-01-01' + (g || ' minutes')::interval
      FROM generate_series(1, ${n.payments}) g`);
  await client.query(`
    INSERT INTO audit_log (occurred_at, actor_user_id, action, payload)
    SELECT timestamptz '2021-01-01' + (g || ' seconds')::interval, u, (ARRAY['user.update','order.create','login'])[1 + g % 3],
           jsonb_build_object(
             'actor', jsonb_build_object('email', ${email("u")}, 'ip', '198.51.100.' || (g % 250 + 1)),
             'changes', CASE WHEN g % 3 = 0 THEN jsonb_build_object('full_name', ${first} || ' ' || ${last}, 'phone', '+44 7700 ' || lpad((g % 1000000)::text, 6, '0')) ELSE '{}'::jsonb END,
             'request_id', md5(g::text))
      FROM generate_series(1, ${n.audit_log}) g, LATERAL (SELECT 1 + (g - 1) % ${users} AS u) x`);
  await client.query(`
    INSERT INTO sessions (id, user_id, user_agent, expires_at)
    SELECT md5('s' || g)::uuid, g, 'Mozilla/5.0 (' || g || ')', timestamptz '2030-01-01'
      FROM generate_series(1, ${n.sessions}) g`);
  await client.query(`
    INSERT INTO newsletter_subscriptions (email) SELECT email FROM users WHERE id % 4 = 0`);
  await client.query(`ANALYZE`);
}
