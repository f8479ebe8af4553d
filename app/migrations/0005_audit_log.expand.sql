-- Append-only audit trail. No foreign keys: entries outlive what they describe.
CREATE TABLE audit_log (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  occurred_at timestamptz NOT NULL DEFAULT now(),
  actor_user_id bigint,
  action text NOT NULL,
  entity text NOT NULL,
  entity_id bigint,
  payload jsonb NOT NULL DEFAULT '{}'::jsonb
);

CREATE INDEX audit_log_entity_idx ON audit_log (entity, entity_id);
CREATE INDEX audit_log_occurred_at_idx ON audit_log USING brin (occurred_at);
