/** The OpenCL backend (JOCL): compiles the kernels module's .cl sources at run time. */
package dev.kiln.opencl;
