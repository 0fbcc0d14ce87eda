// Package taskengine runs tasks on devices at the edge: a journal written before every
// action, local dispatch to runners with a global concurrency limit and one task at a time
// per device, and results delivered to the task manager at least once.
package taskengine
