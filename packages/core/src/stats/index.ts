// Exact tail probabilities in log space and multiple-testing corrections: the public part of stats/.
export { binomialUpperTailLog10, binomialLowerTailLog10, binomialZScore, binomialLogPmf } from './binomial.js'
export { gammaUpperTailLog10, gammaLowerTailLn, gammaZScore } from './gamma.js'
export { normalUpperTailLog10 } from './normal.js'
export { pFromLog10, bonferroniLog10, sidakLog10 } from './pvalue.js'
export { lnGamma, logSumExp, logAddExp, log1mExp } from './special.js'
