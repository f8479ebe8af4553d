-- Orders; amounts in the smallest currency unit.
CREATE TABLE orders (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  user_id bigint NOT NULL REFERENCES users (id),
  shipping_address_id bigint REFERENCES addresses (id),
  status text NOT NULL DEFAULT 'pending',
  total_cents bigint NOT NULL,
  currency text NOT NULL DEFAULT 'EUR',
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT orders_status_known CHECK (status IN ('pending', 'paid', 'shipped', 'cancelled', 'refunded')),
  CONSTRAINT orders_total_non_negative CHECK (total_cents >= 0)
);

CREATE INDEX orders_user_id_created_at_idx ON orders (user_id, created_at);
CREATE INDEX orders_shipping_address_id_idx ON orders (shipping_address_id);
