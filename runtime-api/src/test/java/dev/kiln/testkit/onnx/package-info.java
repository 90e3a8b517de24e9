/**
 * The ONNX node-test runner: runs single-node tests from the public ONNX backend test suite (converted to the
 * plain format of {@code src/test/resources/onnx-node/README.txt}) on every device under test, through Kiln's
 * public API only.
 *
 * <ul>
 * <li>{@link dev.kiln.testkit.onnx.OnnxConformanceTest}: one JUnit dynamic test per ONNX test, grouped by device
 *     and op, and a passed / failed / excluded table per op and device at the end of the run.</li>
 * <li>{@link dev.kiln.testkit.onnx.OnnxOps} (with {@code OnnxNnOps} and {@code OnnxSequenceOps}): the map from
 *     ONNX op and attributes, with ONNX's defaults for absent ones, to Kiln calls.</li>
 * <li>{@link dev.kiln.testkit.onnx.OnnxComparison}: ONNX's default tolerance, rtol 1e-3 and atol 1e-7, NaN equal
 *     to NaN.</li>
 * <li>{@link dev.kiln.testkit.onnx.OnnxExclusions}: tests not run, each with its reason (expected: none).</li>
 * </ul>
 *
 * <p>Any folder in the same format runs the same way:
 * {@code mvn test -pl backend-cpu -am -Dtest='Onnx*' -Dsurefire.failIfNoSpecifiedTests=false -Dkiln.conformance.dir=/path/to/suite}.
 * A node attribute that no mapping reads fails its test, so options are never dropped silently.
 */
package dev.kiln.testkit.onnx;
