package app

// HistoryStore reads a device's history and the service's audit trail.
type HistoryStore interface{}
