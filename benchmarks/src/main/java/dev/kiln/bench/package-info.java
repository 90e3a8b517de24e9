/** JMH benchmarks of every kernel family on every backend present, with references beside ours. */
package dev.kiln.bench;
