package llmfeedback

import (
	"fmt"
	"math"
	"reflect"
	"slices"
	"strings"

	"go.opentelemetry.io/otel/attribute"
)

// ratingValue keeps the rating's type, as New Relic does: a string stays a
// string ("Good"), an integer an integer (1-10), and so on. Named types
// (type Thumb string) count as their underlying kind.
func ratingValue(r any) (attribute.Value, error) {
	switch v := r.(type) {
	case nil:
		return attribute.Value{}, fmt.Errorf("rating is nil; it is required (a string, integer, float or bool)")
	case string:
		return stringRating(v)
	case int:
		return attribute.IntValue(v), nil
	case int64:
		return attribute.Int64Value(v), nil
	case float64:
		return floatRating(v)
	case bool:
		return attribute.BoolValue(v), nil
	}
	rv := reflect.ValueOf(r)
	switch rv.Kind() {
	case reflect.String:
		return stringRating(rv.String())
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return attribute.Int64Value(rv.Int()), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		u := rv.Uint()
		if u > math.MaxInt64 {
			return attribute.Value{}, fmt.Errorf("rating %d does not fit in a 64-bit signed integer", u)
		}
		return attribute.Int64Value(int64(u)), nil
	case reflect.Float32, reflect.Float64:
		return floatRating(rv.Float())
	case reflect.Bool:
		return attribute.BoolValue(rv.Bool()), nil
	}
	return attribute.Value{}, fmt.Errorf("rating is a %T; expected a string, integer, float or bool", r)
}

func stringRating(s string) (attribute.Value, error) {
	if strings.TrimSpace(s) == "" {
		return attribute.Value{}, fmt.Errorf("rating is an empty string; it is required")
	}
	return attribute.StringValue(s), nil
}

func floatRating(f float64) (attribute.Value, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return attribute.Value{}, fmt.Errorf("rating is %v; expected a finite number", f)
	}
	return attribute.Float64Value(f), nil
}

// maxDepth stops a self-referencing map or slice; deeper values are written
// with fmt.Sprint. The SDK cuts attribute values at depth 64 anyway.
const maxDepth = 32

// metadataValue turns the caller's metadata into a map value. The processor
// flattens its top level into attributes of the output record.
func metadataValue(md map[string]any) attribute.Value {
	return anyMap(reflect.ValueOf(md), 0)
}

// anyValue converts a metadata value: scalars keep their kind, maps with
// string keys become maps, slices and arrays become slices, []byte stays
// bytes, pointers are followed, and anything else (structs, time.Time, maps
// with other keys...) is written with fmt.Sprint. The bool reports false for
// nil, which is left out.
func anyValue(v any, depth int) (attribute.Value, bool) {
	switch x := v.(type) {
	case nil:
		return attribute.Value{}, false
	case string:
		return attribute.StringValue(x), true
	case bool:
		return attribute.BoolValue(x), true
	case int:
		return attribute.IntValue(x), true
	case int64:
		return attribute.Int64Value(x), true
	case float64:
		return attribute.Float64Value(x), true
	case []byte:
		return attribute.ByteSliceValue(x), true
	case attribute.Value:
		return x, true
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.String:
		return attribute.StringValue(rv.String()), true
	case reflect.Bool:
		return attribute.BoolValue(rv.Bool()), true
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return attribute.Int64Value(rv.Int()), true
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		if u := rv.Uint(); u <= math.MaxInt64 {
			return attribute.Int64Value(int64(u)), true
		}
	case reflect.Float32, reflect.Float64:
		return attribute.Float64Value(rv.Float()), true
	case reflect.Map, reflect.Slice, reflect.Array, reflect.Pointer:
		if rv.Kind() != reflect.Array && rv.IsNil() {
			return attribute.Value{}, false
		}
		if depth >= maxDepth {
			// fmt.Sprint would recurse forever on a map that holds itself.
			return attribute.StringValue(fmt.Sprintf("<%T nested deeper than %d>", v, maxDepth)), true
		}
		switch {
		case rv.Kind() == reflect.Pointer:
			return anyValue(rv.Elem().Interface(), depth+1)
		case rv.Kind() == reflect.Map && rv.Type().Key().Kind() == reflect.String:
			return anyMap(rv, depth+1), true
		case rv.Kind() != reflect.Map:
			out := make([]attribute.Value, rv.Len())
			for i := range rv.Len() {
				// A nil element stays an empty value, so positions keep their meaning.
				out[i], _ = anyValue(rv.Index(i).Interface(), depth+1)
			}
			return attribute.SliceValue(out...), true
		}
	}
	return attribute.StringValue(fmt.Sprint(v)), true
}

// anyMap converts a map with string keys, in key order so records are
// reproducible. Nil values are left out.
func anyMap(rv reflect.Value, depth int) attribute.Value {
	keys := make([]string, 0, rv.Len())
	byKey := make(map[string]reflect.Value, rv.Len())
	for it := rv.MapRange(); it.Next(); {
		k := it.Key().String()
		keys = append(keys, k)
		byKey[k] = it.Value()
	}
	slices.Sort(keys)
	kvs := make([]attribute.KeyValue, 0, len(keys))
	for _, k := range keys {
		if v, ok := anyValue(byKey[k].Interface(), depth); ok {
			kvs = append(kvs, attribute.KeyValue{Key: attribute.Key(k), Value: v})
		}
	}
	return attribute.MapValue(kvs...)
}
