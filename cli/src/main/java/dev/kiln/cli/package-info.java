/** The kiln command line. */
package dev.kiln.cli;
