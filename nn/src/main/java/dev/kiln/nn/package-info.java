/** Modules, layers, losses, optimizers and training utilities, all backend-neutral. */
package dev.kiln.nn;
