package dev.kiln;

import java.util.Locale;

/**
 * A device as the user names it: {@code cpu}, {@code opencl:1}, {@code cuda:0}. The index is -1 when the user
 * did not give one ("the default device of that type"). There is one CPU device, printed as plain {@code cpu}.
 *
 * @param type the device type, lower case: {@code cpu}, {@code opencl}, {@code cuda}
 * @param index the device's index within its type, or -1 for "the default one"
 */
public record Device(String type, int index) {
    public static final Device CPU = new Device("cpu", 0);

    /**
     * Lower-cases the type.
     */
    public Device {
        type = type.toLowerCase(Locale.ROOT);
    }

    /**
     * Reads a device name as users write it.
     *
     * @param spec {@code TYPE} or {@code TYPE:INDEX}
     * @return the device
     * @throws IllegalArgumentException if the index is not a number
     */
    public static Device parse(String spec) {
        String s = spec.trim();
        int colon = s.indexOf(':');
        if (colon < 0) return new Device(s, -1);
        try {
            return new Device(s.substring(0, colon), Integer.parseInt(s.substring(colon + 1)));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("bad device '" + spec + "': expected TYPE or TYPE:INDEX, e.g. cuda:0");
        }
    }

    /**
     * Whether this (possibly index-less) request is satisfied by {@code concrete}.
     *
     * @param concrete a device the probe found
     * @return whether it is the one asked for
     */
    public boolean matches(Device concrete) {
        return type.equals(concrete.type) && (index < 0 || index == concrete.index);
    }

    @Override
    public String toString() { return index < 0 || (type.equals("cpu") && index == 0) ? type : type + ":" + index; }
}
