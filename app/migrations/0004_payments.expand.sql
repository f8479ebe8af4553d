-- Payments against orders, one row per provider transaction.
CREATE TABLE payments (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  order_id bigint NOT NULL REFERENCES orders (id),
  provider text NOT NULL,
  provider_reference text NOT NULL,
  amount_cents bigint NOT NULL,
  status text NOT NULL DEFAULT 'authorized',
  created_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT payments_status_known CHECK (status IN ('authorized', 'captured', 'failed', 'refunded')),
  CONSTRAINT payments_amount_positive CHECK (amount_cents > 0)
);

CREATE UNIQUE INDEX payments_provider_reference_key ON payments (provider, provider_reference);
CREATE INDEX payments_order_id_idx ON payments (order_id);
