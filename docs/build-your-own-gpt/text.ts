/**
 * The training text of the "Build your own GPT" series: a few paragraphs written for it (about 2,100
 * characters), embedded so that every step runs with no permissions and no downloads. Character level: each
 * distinct character is one token.
 *
 * @module
 */

/** The text every step trains on (it describes, in plain words, what the steps build). */
export const TEXT: string = `A language model is a machine that guesses the next character. Give it the start
of a line and it asks: what usually comes after this? A bigram model looks at one character only. It learns
that a space is often followed by a t, that q wants a u, and that a full stop is followed by a space. It
cannot see further back than that, so its guesses are poor, but they are not random.

Attention lets every position look back at the positions before it. Each position sends out a query, each
earlier position offers a key, and where the query and a key agree, the value of that key flows forward.
The mask makes sure that no position can peek at the future: a model that could read the next character
would learn nothing but copying.

A block puts attention and a small feed forward network together. The attention gathers what the earlier
positions know; the feed forward network thinks about it, one position at a time. Residual connections add
each result to what was there before, and layer norms keep the numbers in a sensible range, so that many
blocks can be stacked.

Training is a loop. Take a batch of windows from the text, ask the model for its guesses, measure how
surprised it is by the true next characters, and nudge every weight a little in the direction that lowers
the surprise. Do it again, and again. The loss starts near the logarithm of the vocabulary size, the loss of
a model that guesses uniformly, and it falls as the model learns the spelling of words, then whole words,
then the shape of sentences.

Sampling turns the guesses back into text. The model gives a score to every character; a softmax turns the
scores into probabilities; we draw one character, append it, and ask again. A low temperature makes the
model careful and repetitive, a high temperature makes it bold and strange. With a fixed seed the draws are
the same every time.

The key and value cache is a trick for speed. When we append one character, the keys and values of all the
earlier positions have not changed, so we keep them and compute only the new ones. The tokens come out
exactly the same as when we recompute everything, only faster.
`;
