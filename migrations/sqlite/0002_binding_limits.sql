-- A binding's limits: the protobuf `actions.runner.v1.Limits` as the API
-- took it (a field left 0 takes the runner's default). NULL: every default,
-- which is what bindings attached before this migration run with.
ALTER TABLE bindings ADD COLUMN limits BLOB;
