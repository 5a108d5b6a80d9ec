"""Python's float() on each string: the value's bits, "nan", or null when it raises."""
from common import float_bits, main


def handle(strings):
    out = []
    for s in strings:
        try:
            out.append(float_bits(float(s)))
        except ValueError:
            out.append(None)
    return out


main(handle)
