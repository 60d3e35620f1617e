// Package hashkey is the 128-bit hash-key space that a stream's shards divide between them.
package hashkey

import (
	"crypto/md5"
	"encoding/binary"
	"math/big"
	"math/bits"
	"strconv"
)

// Key is an unsigned 128-bit hash key: a point of the space [0, 2^128−1].
type Key struct{ Hi, Lo uint64 }

// Max is 2^128−1, the end of the space.
var Max = Key{^uint64(0), ^uint64(0)}

// Of is the hash key of a partition key: MD5 of its UTF-8 bytes read as a big-endian 128-bit integer.
func Of(partitionKey string) Key {
	sum := md5.Sum([]byte(partitionKey))
	return Key{binary.BigEndian.Uint64(sum[:8]), binary.BigEndian.Uint64(sum[8:])}
}

// Less tells whether a < b.
func (a Key) Less(b Key) bool { return a.Hi < b.Hi || (a.Hi == b.Hi && a.Lo < b.Lo) }

// String returns the key in decimal, as the API shows hash keys.
func (a Key) String() string {
	if a.Hi == 0 {
		return strconv.FormatUint(a.Lo, 10)
	}
	return a.big().String()
}

func (a Key) big() *big.Int {
	v := new(big.Int).SetUint64(a.Hi)
	v.Lsh(v, 64)
	return v.Or(v, new(big.Int).SetUint64(a.Lo))
}

func fromBig(v *big.Int) Key {
	lo := new(big.Int).And(v, new(big.Int).SetUint64(^uint64(0))).Uint64()
	hi := new(big.Int).Rsh(v, 64).Uint64()
	return Key{hi, lo}
}

// Parse parses a decimal in [0, 2^128−1]; ok is false for anything else.
func Parse(s string) (k Key, ok bool) {
	if s == "" || len(s) > 39 {
		return Key{}, false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return Key{}, false
		}
		// k = k*10 + c, failing on overflow past 128 bits.
		hiHi, hiLo := bits.Mul64(k.Hi, 10)
		loHi, loLo := bits.Mul64(k.Lo, 10)
		if hiHi != 0 {
			return Key{}, false
		}
		hi, carry := bits.Add64(hiLo, loHi, 0)
		if carry != 0 {
			return Key{}, false
		}
		lo, carry := bits.Add64(loLo, uint64(c-'0'), 0)
		hi, carry = bits.Add64(hi, 0, carry)
		if carry != 0 {
			return Key{}, false
		}
		k = Key{hi, lo}
	}
	return k, true
}

// MustParse is Parse for keys known to be valid (those a stream document holds); an invalid one is
// the zero key.
func MustParse(s string) Key {
	k, _ := Parse(s)
	return k
}

// Inc returns a+1 (wrapping at 2^128).
func (a Key) Inc() Key {
	lo, carry := bits.Add64(a.Lo, 1, 0)
	return Key{a.Hi + carry, lo}
}

// Dec returns a−1 (wrapping at 0).
func (a Key) Dec() Key {
	lo, borrow := bits.Sub64(a.Lo, 1, 0)
	return Key{a.Hi - borrow, lo}
}

// Sub returns a−b (wrapping).
func (a Key) Sub(b Key) Key {
	lo, borrow := bits.Sub64(a.Lo, b.Lo, 0)
	return Key{a.Hi - b.Hi - borrow, lo}
}

// Midpoint is the first key of the upper half of [start, end] (start < end).
func Midpoint(start, end Key) Key {
	sum := new(big.Int).Add(start.big(), end.big())
	sum.Add(sum, big.NewInt(1))
	return fromBig(sum.Rsh(sum, 1))
}

// SplitEvenly returns n ranges covering [0, 2^128−1], as CreateStream divides the space: step =
// floor(2^128/n), range i is [i·step, (i+1)·step−1], and the last range ends at 2^128−1.
func SplitEvenly(n int) [][2]Key {
	space := new(big.Int).Lsh(big.NewInt(1), 128)
	step := new(big.Int).Div(space, big.NewInt(int64(n)))
	out := make([][2]Key, n)
	for i := range n {
		start := new(big.Int).Mul(step, big.NewInt(int64(i)))
		end := new(big.Int).Add(start, step)
		end.Sub(end, big.NewInt(1))
		if i == n-1 {
			end.Sub(space, big.NewInt(1))
		}
		out[i] = [2]Key{fromBig(start), fromBig(end)}
	}
	return out
}

// UniformStarts returns the starting keys of n shards dividing [0, 2^128−1] so that sizes differ by at
// most one: shard i starts at ⌊i·2^128/n⌋, as UpdateShardCount divides the space. (For the counts
// SplitEvenly divides exactly or with a remainder of one, they are SplitEvenly's starts too.)
func UniformStarts(n int) []Key {
	out := make([]Key, n)
	for i := range n {
		v := new(big.Int).Lsh(big.NewInt(int64(i)), 128)
		out[i] = fromBig(v.Div(v, big.NewInt(int64(n))))
	}
	return out
}
