package kinesis

// AppendEnvelopeLimited exposes the size-bounded encoding the producer uses for the DLQ stream.
func AppendEnvelopeLimited(e *Envelope, limit int) []byte { return e.appendJSON(nil, limit) }
