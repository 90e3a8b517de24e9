/** Kernel sources (.cl, .cu) as resources, one file per op family. */
package dev.kiln.kernels;
