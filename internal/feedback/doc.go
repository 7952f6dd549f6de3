// Package feedback recognises feedback log records and reads their input
// fields (trace id, rating, selectors, metadata) into a checked Feedback, with
// an error a user can act on when a field is wrong.
package feedback
